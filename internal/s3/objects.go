package s3

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// recordFrom is the record a PutObject, CopyObject (REPLACE) or CreateMultipartUpload asks for.
func recordFrom(h http.Header) record {
	rec := record{ContentType: h.Get("Content-Type")}
	if rec.ContentType == "" {
		rec.ContentType = "binary/octet-stream" // what S3 stores for an upload without a type
	}
	for _, name := range storedHeaders {
		v := h.Get(name)
		if name == "Content-Encoding" {
			v = storedEncoding(v)
		}
		if v != "" {
			if rec.Headers == nil {
				rec.Headers = map[string]string{}
			}
			rec.Headers[name] = v
		}
	}
	for name, vs := range h {
		if n := strings.ToLower(name); strings.HasPrefix(n, "x-amz-meta-") && len(n) > len("x-amz-meta-") {
			if rec.Meta == nil {
				rec.Meta = map[string]string{}
			}
			rec.Meta[n[len("x-amz-meta-"):]] = strings.Join(vs, ",")
		}
	}
	return rec
}

// contentMD5 is the digest a request's Content-MD5 announces, nil without one.
func contentMD5(r *http.Request) ([]byte, error) {
	v, ok := r.Header["Content-Md5"]
	if !ok {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(strings.Join(v, ""))
	if err != nil || len(b) != 16 {
		return nil, errInvalidDigest
	}
	return b, nil
}

func (s *Service) putObject(w http.ResponseWriter, r *request) error {
	if err := s.needBucket(r.bucket); err != nil {
		return err
	}
	if r.Header.Get("If-None-Match") == "*" {
		// A conditional write: only when the key is free.
		if _, err := s.stat(r.bucket, r.key); err == nil {
			return errPrecondition
		} else if !errors.Is(err, errNoSuchKey) {
			return err
		}
	}
	body, n, err := bodyOf(r.Request, s.o.Credentials)
	if err != nil {
		return err
	}
	if n > MaxObjectSize {
		return errTooLarge
	}
	want, err := contentMD5(r.Request)
	if err != nil {
		return err
	}
	wr, err := s.receive(body, n, MaxObjectSize)
	if err != nil {
		return err
	}
	if want != nil && !bytes.Equal(want, wr.md5) {
		_ = s.root.Remove(wr.tmp)
		return errBadDigest
	}
	rec := recordFrom(r.Header)
	rec.ETag = hex.EncodeToString(wr.md5)
	if err := s.commit(r.bucket, r.key, wr, &rec); err != nil {
		return err
	}
	w.Header().Set("ETag", `"`+rec.ETag+`"`)
	echoChecksums(w, r)
	w.WriteHeader(http.StatusOK)
	return nil
}

// echoChecksums returns the x-amz-checksum-* headers a request announced, as S3 does once it
// has checked them (Stepline keeps no checksum but the MD5, and does not check them).
func echoChecksums(w http.ResponseWriter, r *request) {
	for name, vs := range r.Header {
		if strings.HasPrefix(strings.ToLower(name), "x-amz-checksum-") && !strings.EqualFold(name, "x-amz-checksum-algorithm") {
			w.Header()[name] = vs
		}
	}
}

// getObject serves GetObject and HeadObject.
func (s *Service) getObject(w http.ResponseWriter, r *request, q url.Values) error {
	f, err := s.root.Open(objectPath(r.bucket, r.key))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			if err := s.needBucket(r.bucket); err != nil {
				return err
			}
			return errNoSuchKey
		}
		return fmt.Errorf("s3: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("s3: %w", err)
	}
	if !info.Mode().IsRegular() {
		return errNoSuchKey
	}
	o, err := s.objectOf(r.bucket, r.key, info, f)
	if err != nil {
		return err
	}
	if err := checkConditions(r.Request, o); err != nil {
		if err == notModified {
			w.Header().Set("ETag", `"`+o.ETag+`"`)
			w.Header().Set("Last-Modified", o.modTime.UTC().Format(http.TimeFormat))
		}
		return err
	}
	h := w.Header()
	setObjectHeaders(h, o)
	for param, header := range responseOverrides {
		if v := q.Get(param); v != "" {
			h.Set(header, v)
		}
	}
	var start, length int64
	var partial bool
	if q.Has("partNumber") {
		start, length, partial, err = partRange(q.Get("partNumber"), o)
		if err == nil && r.Header.Get("Range") != "" {
			err = invalidArgument("Cannot specify both Range header and partNumber query parameter")
		}
		h.Set("X-Amz-Mp-Parts-Count", strconv.Itoa(max(len(o.Parts), 1)))
	} else {
		start, length, partial, err = parseRange(r.Header.Get("Range"), o.size)
	}
	if err != nil {
		h.Set("Content-Range", "bytes */"+strconv.FormatInt(o.size, 10))
		return err
	}
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	status := http.StatusOK
	if partial {
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, start+length-1, o.size))
		status = http.StatusPartialContent
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return nil
	}
	// The file itself, limited, lets the server send it with sendfile(2).
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return fmt.Errorf("s3: %w", err)
	}
	w.WriteHeader(status)
	if _, err := io.Copy(w, io.LimitReader(f, length)); err != nil {
		// The status is sent; the client sees a short body.
		s.o.Logger.Debug("s3: sending an object", "bucket", r.bucket, "key", r.key, "err", err)
	}
	return nil
}

// responseOverrides are GetObject's response-* parameters and the header each sets.
var responseOverrides = map[string]string{
	"response-content-type":        "Content-Type",
	"response-content-language":    "Content-Language",
	"response-expires":             "Expires",
	"response-cache-control":       "Cache-Control",
	"response-content-disposition": "Content-Disposition",
	"response-content-encoding":    "Content-Encoding",
}

func setObjectHeaders(h http.Header, o *object) {
	h.Set("ETag", `"`+o.ETag+`"`)
	h.Set("Last-Modified", o.modTime.UTC().Format(http.TimeFormat))
	h.Set("Content-Type", o.ContentType)
	h.Set("Accept-Ranges", "bytes")
	for name, v := range o.Headers {
		h.Set(name, v)
	}
	for name, v := range o.Meta {
		h["X-Amz-Meta-"+name] = []string{v}
	}
}

// checkConditions applies If-Match, If-None-Match, If-Modified-Since and If-Unmodified-Since
// as S3 does: If-Match wins over If-Unmodified-Since and If-None-Match over If-Modified-Since.
func checkConditions(r *http.Request, o *object) error {
	modTime := o.modTime.Truncate(time.Second)
	if v := r.Header.Get("If-Match"); v != "" {
		if !etagMatches(v, o.ETag) {
			return errPrecondition
		}
	} else if t, err := http.ParseTime(r.Header.Get("If-Unmodified-Since")); err == nil && modTime.After(t) {
		return errPrecondition
	}
	if v := r.Header.Get("If-None-Match"); v != "" {
		if etagMatches(v, o.ETag) {
			return notModified
		}
	} else if t, err := http.ParseTime(r.Header.Get("If-Modified-Since")); err == nil && !modTime.After(t) {
		return notModified
	}
	return nil
}

// etagMatches tells whether a list of ETags (quoted or not, or "*") names etag.
func etagMatches(list, etag string) bool {
	for v := range strings.SplitSeq(list, ",") {
		v = strings.TrimPrefix(strings.TrimSpace(v), "W/")
		if v == "*" || strings.Trim(v, `"`) == etag {
			return true
		}
	}
	return false
}

// partRange is the bytes of part n of an object, as GetObject's partNumber asks: a part of a
// multipart object (206), or the whole of another object as its part 1 (200).
func partRange(v string, o *object) (start, length int64, partial bool, err error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxParts {
		return 0, 0, false, invalidArgument("Part number must be an integer between 1 and 10000, inclusive")
	}
	if len(o.Parts) == 0 {
		if n != 1 {
			return 0, 0, false, errInvalidPartNumber
		}
		return 0, o.size, false, nil
	}
	if n > len(o.Parts) {
		return 0, 0, false, errInvalidPartNumber
	}
	for _, size := range o.Parts[:n-1] {
		start += size
	}
	return start, o.Parts[n-1], true, nil
}

// parseRange reads a Range header of one byte range ("bytes=a-b", "bytes=a-", "bytes=-n").
// S3 ignores a header it cannot read, or one of several ranges, and sends the whole object; a
// range that starts past the end is InvalidRange.
func parseRange(v string, size int64) (start, length int64, partial bool, err error) {
	spec, ok := strings.CutPrefix(v, "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return 0, size, false, nil
	}
	a, b, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return 0, size, false, nil
	}
	if a == "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 0 {
			return 0, size, false, nil
		}
		if n == 0 {
			return 0, 0, false, errInvalidRange
		}
		n = min(n, size)
		return size - n, n, true, nil
	}
	first, err := strconv.ParseInt(a, 10, 64)
	if err != nil || first < 0 {
		return 0, size, false, nil
	}
	last := size - 1
	if b != "" {
		if last, err = strconv.ParseInt(b, 10, 64); err != nil || last < first {
			return 0, size, false, nil
		}
		last = min(last, size-1)
	}
	if first >= size {
		return 0, 0, false, errInvalidRange
	}
	return first, last - first + 1, true, nil
}

func (s *Service) deleteObject(w http.ResponseWriter, r *request) error {
	if err := s.needBucket(r.bucket); err != nil {
		return err
	}
	if err := s.removeObject(r.bucket, r.key); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// copySource reads x-amz-copy-source: "bucket/key" or "/bucket/key", URL-encoded, maybe with
// "?versionId=".
func copySource(v string) (bucket, key string, err error) {
	v, _, _ = strings.Cut(v, "?")
	v, uerr := url.PathUnescape(strings.TrimPrefix(v, "/"))
	bucket, key, ok := strings.Cut(v, "/")
	if uerr != nil || !ok {
		return "", "", invalidArgument("Invalid copy source object key")
	}
	if err := checkBucketName(bucket); err != nil {
		return "", "", err
	}
	if err := checkKey(key); err != nil {
		return "", "", err
	}
	return bucket, key, nil
}

// openSource opens the object a copy reads, with its record.
func (s *Service) openSource(header, dst string) (*os.File, *object, error) {
	bucket, key, err := copySource(header)
	if err != nil {
		return nil, nil, err
	}
	if s.remotes[bucket] != nil {
		return nil, nil, errCrossCopy(bucket, dst)
	}
	f, err := s.root.Open(objectPath(bucket, key))
	if err != nil {
		if err := s.needBucket(bucket); err != nil {
			return nil, nil, err
		}
		return nil, nil, errNoSuchKey
	}
	info, err := f.Stat()
	if err == nil && !info.Mode().IsRegular() {
		err = errNoSuchKey
	}
	var o *object
	if err == nil {
		o, err = s.objectOf(bucket, key, info, f)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, o, nil
}

func (s *Service) copyObject(w http.ResponseWriter, r *request) error {
	if err := s.needBucket(r.bucket); err != nil {
		return err
	}
	src := r.Header.Get("X-Amz-Copy-Source")
	f, o, err := s.openSource(src, r.bucket)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := copyConditions(r.Request, o); err != nil {
		return err
	}
	replace := strings.EqualFold(r.Header.Get("X-Amz-Metadata-Directive"), "REPLACE")
	if sb, sk, _ := copySource(src); sb == r.bucket && sk == r.key && !replace {
		return errCopyToItself
	}
	rec := o.record
	if replace {
		rec = recordFrom(r.Header)
	}
	rec.Parts = nil // a copy is one part, whatever its source was
	wr, err := s.receive(io.NewSectionReader(f, 0, o.size), o.size, MaxObjectSize)
	if err != nil {
		return err
	}
	rec.ETag = hex.EncodeToString(wr.md5)
	if err := s.commit(r.bucket, r.key, wr, &rec); err != nil {
		return err
	}
	return writeXML(w, copyResult{NS: s3NS, LastModified: isoTime(wr.info.ModTime()), ETag: `"` + rec.ETag + `"`})
}

// copyConditions applies x-amz-copy-source-if-* to the source of a copy (412 on failure).
func copyConditions(r *http.Request, o *object) error {
	h := http.Header{}
	for _, name := range []string{"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"} {
		if v := r.Header.Get("X-Amz-Copy-Source-" + name); v != "" {
			h.Set(name, v)
		}
	}
	if err := checkConditions(&http.Request{Header: h}, o); err != nil {
		return errPrecondition
	}
	return nil
}

type copyResult struct {
	XMLName      xml.Name `xml:"CopyObjectResult"`
	NS           string   `xml:"xmlns,attr"`
	LastModified string
	ETag         string
}

// deleteRequest is DeleteObjects' body.
type deleteRequest struct {
	Quiet   bool
	Objects []struct {
		Key string
	} `xml:"Object"`
}

type deleteResult struct {
	XMLName xml.Name `xml:"DeleteResult"`
	NS      string   `xml:"xmlns,attr"`
	Deleted []deletedKey
	Errors  []deleteError `xml:"Error"`
}

type deletedKey struct {
	Key string
}

type deleteError struct {
	Key     string
	Code    string
	Message string
}

func (s *Service) deleteObjects(w http.ResponseWriter, r *request) error {
	if err := s.needBucket(r.bucket); err != nil {
		return err
	}
	var req deleteRequest
	if err := readXML(r.Body, &req); err != nil {
		return err
	}
	if len(req.Objects) == 0 || len(req.Objects) > 1000 {
		return errMalformedXML
	}
	res := deleteResult{NS: s3NS}
	for _, obj := range req.Objects {
		err := checkKey(obj.Key)
		if err == nil {
			err = s.removeObject(r.bucket, obj.Key)
		}
		if err != nil {
			var e *apiError
			if !errors.As(err, &e) {
				s.o.Logger.Error("s3: deleting an object", "bucket", r.bucket, "key", obj.Key, "err", err)
				e = errInternal
			}
			res.Errors = append(res.Errors, deleteError{Key: obj.Key, Code: e.code, Message: e.message})
			continue
		}
		if !req.Quiet {
			res.Deleted = append(res.Deleted, deletedKey{Key: obj.Key})
		}
	}
	return writeXML(w, res)
}
