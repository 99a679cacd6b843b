package s3

import (
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
)

// apiError is an error as S3 sends it: a code the SDKs match, a status and a message.
type apiError struct {
	code    string
	status  int
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

// S3's errors, worded as S3 words them.
var (
	errInternal          = &apiError{"InternalError", http.StatusInternalServerError, "We encountered an internal error. Please try again."}
	errMethodNotAllowed  = &apiError{"MethodNotAllowed", http.StatusMethodNotAllowed, "The specified method is not allowed against this resource."}
	errNoSuchBucket      = &apiError{"NoSuchBucket", http.StatusNotFound, "The specified bucket does not exist"}
	errNoSuchKey         = &apiError{"NoSuchKey", http.StatusNotFound, "The specified key does not exist."}
	errNoSuchUpload      = &apiError{"NoSuchUpload", http.StatusNotFound, "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."}
	errBucketNotEmpty    = &apiError{"BucketNotEmpty", http.StatusConflict, "The bucket you tried to delete is not empty"}
	errOwnedByYou        = &apiError{"BucketAlreadyOwnedByYou", http.StatusConflict, "Your previous request to create the named bucket succeeded and you already own it."}
	errInvalidBucket     = &apiError{"InvalidBucketName", http.StatusBadRequest, "The specified bucket is not valid."}
	errKeyTooLong        = &apiError{"KeyTooLongError", http.StatusBadRequest, "Your key is too long"}
	errInvalidRange      = &apiError{"InvalidRange", http.StatusRequestedRangeNotSatisfiable, "The requested range is not satisfiable"}
	errPrecondition      = &apiError{"PreconditionFailed", http.StatusPreconditionFailed, "At least one of the pre-conditions you specified did not hold"}
	errMissingLength     = &apiError{"MissingContentLength", http.StatusLengthRequired, "You must provide the Content-Length HTTP header."}
	errTooLarge          = &apiError{"EntityTooLarge", http.StatusBadRequest, "Your proposed upload exceeds the maximum allowed size"}
	errIncompleteBody    = &apiError{"IncompleteBody", http.StatusBadRequest, "You did not provide the number of bytes specified by the Content-Length HTTP header"}
	errBadDigest         = &apiError{"BadDigest", http.StatusBadRequest, "The Content-MD5 you specified did not match what we received."}
	errInvalidDigest     = &apiError{"InvalidDigest", http.StatusBadRequest, "The Content-MD5 you specified is not valid."}
	errMalformedXML      = &apiError{"MalformedXML", http.StatusBadRequest, "The XML you provided was not well-formed or did not validate against our published schema"}
	errEntityTooSmall    = &apiError{"EntityTooSmall", http.StatusBadRequest, "Your proposed upload is smaller than the minimum allowed object size."}
	errInvalidPart       = &apiError{"InvalidPart", http.StatusBadRequest, "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."}
	errInvalidPartNumber = &apiError{"InvalidPartNumber", http.StatusRequestedRangeNotSatisfiable, "The requested partnumber is not satisfiable"}
	errInvalidPartOrder  = &apiError{"InvalidPartOrder", http.StatusBadRequest, "The list of parts was not in ascending order. Parts must be ordered by part number."}
	errCopyToItself      = &apiError{"InvalidRequest", http.StatusBadRequest, "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."}
)

// errEscapes answers a path through a symbolic link that leads out of DIR/s3, which os.Root
// refuses to follow.
var errEscapes = &apiError{"AccessDenied", http.StatusForbidden, "Stepline does not follow links that lead out of its data folder"}

// escapes tells whether err is os.Root's refusal of a path that leads out of it; the error is
// not exported, so it is known by its words.
func escapes(err error) bool {
	return err != nil && strings.Contains(err.Error(), "path escapes from parent")
}

// invalidArgument is S3's InvalidArgument with a message of ours.
func invalidArgument(msg string) *apiError {
	return &apiError{code: "InvalidArgument", status: http.StatusBadRequest, message: msg}
}

// notModified is a condition that holds the object back (304, no body).
var notModified = &apiError{code: "NotModified", status: http.StatusNotModified}

func (s *Service) writeError(w http.ResponseWriter, r *request, err error) {
	var e *apiError
	switch {
	case errors.As(err, &e):
	case escapes(err):
		e = errEscapes
	default:
		s.o.Logger.Error("s3: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		e = errInternal
	}
	s.o.Logger.Debug("s3: request refused", "method", r.Method, "path", r.URL.Path, "code", e.code)
	h := w.Header()
	h.Del("Content-Length")
	h.Del("ETag")
	h.Del("Last-Modified")
	if e.status == http.StatusNotModified || r.Method == http.MethodHead {
		// HEAD answers carry no body; SDKs name the error by its status.
		w.WriteHeader(e.status)
		return
	}
	resource := r.URL.Path
	body, _ := xml.Marshal(struct {
		XMLName   xml.Name `xml:"Error"`
		Code      string
		Message   string
		Resource  string `xml:",omitempty"`
		BucketNm  string `xml:"BucketName,omitempty"`
		Key       string `xml:",omitempty"`
		RequestID string `xml:"RequestId"`
		HostID    string `xml:"HostId"`
	}{Code: e.code, Message: e.message, Resource: resource, BucketNm: r.bucket, Key: r.key, RequestID: r.id, HostID: r.id}) // strings always marshal
	h.Set("Content-Type", "application/xml")
	w.WriteHeader(e.status)
	_, _ = io.WriteString(w, xml.Header)
	_, _ = w.Write(body)
}

// s3NS is the namespace of S3's XML documents.
const s3NS = "http://s3.amazonaws.com/doc/2006-03-01/"

// writeXML sends v, an S3 document, with status 200.
func writeXML(w http.ResponseWriter, v any) error {
	body, err := xml.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/xml")
	_, _ = io.WriteString(w, xml.Header)
	_, _ = w.Write(body)
	return nil
}

// readXML decodes a request's XML body, bounded; a malformed one is MalformedXML.
func readXML(r io.Reader, v any) error {
	b, err := io.ReadAll(io.LimitReader(r, maxXMLBody+1))
	if err != nil {
		return &apiError{code: "IncompleteBody", status: http.StatusBadRequest, message: "Could not read the request body"}
	}
	if len(b) > maxXMLBody {
		return &apiError{code: "MaxMessageLengthExceeded", status: http.StatusBadRequest, message: "Your request was too big."}
	}
	if err := xml.Unmarshal(b, v); err != nil {
		return errMalformedXML
	}
	return nil
}

// isoTime is the time format of S3's XML documents.
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
