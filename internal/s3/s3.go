// Package s3 serves the S3 REST API (path-style, as the AWS CLI and the SDKs address a custom
// endpoint) over buckets kept as plain folders, so that what a program writes through S3 is a
// file other programs (Glue crawlers and jobs, the user's editor) read directly, and a file
// dropped into a bucket's folder is an object.
//
// # Layout on disk
//
// Under the data folder DIR (server.Options.DataDir):
//
//   - DIR/s3/<bucket>/ is a bucket; the object key is the plain file DIR/s3/<bucket>/<key>, keys
//     with '/' being nested folders. Nothing else lives inside a bucket's folder: any regular
//     file in it is an object (symbolic links and other special files are not listed).
//   - DIR/s3/.meta/<bucket>/bucket.json is what S3 keeps about a bucket (its creation date and
//     its notification configuration: {"created": RFC 3339, "eventBridge": bool,
//     "notification": "<NotificationConfiguration…>"}; the triggers read eventBridge).
//   - DIR/s3/.meta/<bucket>/objects/<h[:2]>/<h>.json, h the hex SHA-256 of the key, is what S3
//     keeps about an object: its ETag, content type, user metadata (x-amz-meta-*) and the few
//     headers S3 echoes, with the size and modification time of the file they describe. When
//     the file no longer matches (it was replaced by hand), the record is ignored: the ETag is
//     the MD5 of the bytes, computed on demand and cached in a new record, and the content type
//     is guessed from the name's extension (application/octet-stream otherwise).
//   - DIR/s3/.uploads/<id>/ is a multipart upload in progress (upload.json and its parts).
//   - DIR/s3/.tmp/ holds files being written. Every write (objects, parts, records) goes to a
//     file there, is synced, and is renamed into place, so a reader, or another node sharing
//     DIR, sees a whole object or none. Bucket names cannot start with '.', so these folders
//     are never buckets.
//
// Keys that cannot be file names are refused with InvalidArgument: an empty segment ("a//b", a
// leading '/'), a "." or ".." segment, a NUL byte, a segment longer than 255 bytes, a key
// ending in '/' (S3's "folder markers"; a folder exists here as soon as an object is in it),
// and a key that needs a folder where an object is ("a/b" beside the object "a") or the
// reverse. Every file operation goes through an os.Root at DIR/s3, so no key, bucket name or
// symbolic link reaches outside it.
//
// Requests are path-style (/<bucket>/<key>), as the AWS CLI and boto3 address a custom endpoint
// and aws-sdk-go-v2 does with UsePathStyle; virtual-host style is understood only for hosts
// <bucket>.localhost.
//
// Not served: versioning, ACLs and policies, tagging, object lock, server-side encryption (such
// requests get 501 NotImplemented).
//
// # Bound buckets
//
// A bucket can be bound to an external S3 endpoint (Options.Remotes; the project file's
// buckets: NAME: {endpoint: …}). Every request for it is forwarded there (remote.go): the path
// made path-style with the endpoint's name for the bucket, the client's signature replaced by
// one of the endpoint's credentials, bodies streamed both ways, the endpoint's answers and
// errors passed back as they are (bucket names in XML answers put back to the local name).
// Such a bucket has no folder, so the files of DIR/s3 know nothing of it. CreateBucket is
// forwarded (naming the endpoint's region); DeleteBucket is refused, since the bucket is the
// endpoint's; copies between it and a bucket not at the same endpoint are not served. Its object
// events are the endpoint's: Stepline's EventBridge notifications see none of them.
package s3

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/stepline/stepline/internal/clock"
	"github.com/stepline/stepline/internal/sigv4"
)

// Limits S3 sets.
const (
	// MaxObjectSize is the largest body of one PutObject or UploadPart: 5 GiB.
	MaxObjectSize = 5 << 30
	// MinPartSize is the least size of a multipart upload's parts but the last: 5 MiB.
	MinPartSize = 5 << 20
	// MaxParts is the highest part number.
	MaxParts = 10000
	// maxKeyLen is the longest key, in bytes.
	maxKeyLen = 1024
	// maxXMLBody bounds the XML bodies the service parses (DeleteObjects of 1000 keys of 1 KiB,
	// CompleteMultipartUpload of 10000 parts).
	maxXMLBody = 2 << 20
)

// Folders inside DIR/s3 that are not buckets.
const (
	metaDir    = ".meta"
	uploadsDir = ".uploads"
	tmpDir     = ".tmp"
)

// Options configure a Service.
type Options struct {
	// Dir is the data folder; buckets are folders of Dir/s3.
	Dir    string
	Clock  clock.Clock
	Logger *slog.Logger
	// Region is the region buckets are in (GetBucketLocation, x-amz-bucket-region).
	Region string
	// Credentials are the --auth keys, if any: with them, the chunk signatures of signed
	// aws-chunked bodies are checked (the router checks the request's own signature).
	Credentials sigv4.Credentials
	// Remotes are the buckets bound to external endpoints, by local name: their requests are
	// forwarded there, and no folder holds them.
	Remotes map[string]Remote
}

// Service is the S3 API of one node over the folders of Options.Dir; it is an http.Handler.
type Service struct {
	o       Options
	root    *os.Root
	remotes map[string]*remote
	// started dates the bound buckets in ListBuckets.
	started time.Time
}

// New opens (creating it if needed) Dir/s3 and returns the service over it.
func New(o Options) (*Service, error) {
	if o.Dir == "" {
		return nil, errors.New("s3: no data folder")
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	remotes, err := newRemotes(o.Remotes)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(o.Dir, "s3")
	for _, d := range []string{dir, filepath.Join(dir, metaDir), filepath.Join(dir, uploadsDir), filepath.Join(dir, tmpDir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("s3: creating %s: %w", d, err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("s3: opening %s: %w", dir, err)
	}
	s := &Service{o: o, root: root, remotes: remotes, started: o.Clock.Now().UTC()}
	s.removeStaleTemps()
	return s, nil
}

// Close releases the data folder.
func (s *Service) Close() error {
	if err := s.root.Close(); err != nil {
		return fmt.Errorf("s3: %w", err)
	}
	return nil
}

// staleTemp is how old a file in .tmp must be to be taken for the leftover of a crashed writer;
// a day, because another node sharing DIR may be writing a large object right now.
const staleTemp = 24 * time.Hour

// removeStaleTemps removes what writers that died left in .tmp.
func (s *Service) removeStaleTemps() {
	entries, err := fsReadDir(s.root, tmpDir)
	if err != nil {
		s.o.Logger.Warn("s3: listing temporary files", "err", err)
		return
	}
	now := s.o.Clock.Now()
	for _, e := range entries {
		if info, err := e.Info(); err == nil && now.Sub(info.ModTime()) > staleTemp {
			_ = s.root.Remove(tmpDir + "/" + e.Name()) // another node may have removed it first
		}
	}
}

// ServeHTTP answers one S3 request.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := newRequestID()
	w.Header().Set("X-Amz-Request-Id", id)
	w.Header().Set("X-Amz-Id-2", id)
	w.Header().Set("Server", "Stepline")
	req := &request{Request: r, id: id}
	defer func() {
		// A panic in a handler is a bug; the client gets InternalError, not a dropped connection.
		if p := recover(); p != nil {
			s.o.Logger.Error("s3: panic serving a request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p))
			s.writeError(w, req, errInternal)
		}
	}()
	if err := s.route(w, req); err != nil {
		s.writeError(w, req, err)
	}
}

// request is an HTTP request with what the router makes of its path.
type request struct {
	*http.Request
	id     string
	bucket string
	key    string
}

// route splits the path into bucket and key and finds the operation from the method and the
// subresource in the query, as S3 does.
func (s *Service) route(w http.ResponseWriter, r *request) error {
	path := strings.TrimPrefix(r.URL.Path, "/")
	if bucket := virtualHostBucket(r.Host); bucket != "" {
		path = bucket + "/" + path
	}
	r.bucket, r.key, _ = strings.Cut(path, "/")
	q := r.URL.Query()
	if r.bucket == "" {
		if r.Method == http.MethodGet {
			return s.listBuckets(w, r)
		}
		return errMethodNotAllowed
	}
	if err := checkBucketName(r.bucket); err != nil {
		if r.Method == http.MethodPut && r.key == "" && len(q) == 0 || !legacyBucketName(r.bucket) {
			return err // CreateBucket refuses the name, and so does any request for garbage
		}
		// A name of S3's old rules (capitals, underscores): no bucket can have it here, so there
		// is none to read or write, as AWS answers (NoSuchBucket) for such a name.
		return errNoSuchBucket
	}
	if rm := s.remotes[r.bucket]; rm != nil {
		// Before any check of ours: subresources and keys this service does not serve are
		// the endpoint's to serve or refuse.
		return s.forward(w, r, rm)
	}
	if sub := unknownSubresource(q); sub != "" {
		return &apiError{code: "NotImplemented", status: http.StatusNotImplemented,
			message: "Stepline's S3 does not implement the " + sub + " subresource"}
	}
	if r.key == "" {
		return s.routeBucket(w, r, q)
	}
	if err := checkKey(r.key); err != nil {
		return err
	}
	switch r.Method {
	case http.MethodPut:
		switch {
		case q.Has("uploadId") || q.Has("partNumber"):
			return s.uploadPart(w, r, q)
		case r.Header.Get("X-Amz-Copy-Source") != "":
			return s.copyObject(w, r)
		}
		return s.putObject(w, r)
	case http.MethodGet, http.MethodHead:
		if q.Has("uploadId") && r.Method == http.MethodGet {
			return s.listParts(w, r, q)
		}
		return s.getObject(w, r, q)
	case http.MethodDelete:
		if q.Has("uploadId") {
			return s.abortUpload(w, r, q)
		}
		return s.deleteObject(w, r)
	case http.MethodPost:
		switch {
		case q.Has("uploads"):
			return s.createUpload(w, r)
		case q.Has("uploadId"):
			return s.completeUpload(w, r, q)
		}
	}
	return errMethodNotAllowed
}

func (s *Service) routeBucket(w http.ResponseWriter, r *request, q map[string][]string) error {
	has := func(k string) bool { _, ok := q[k]; return ok }
	switch r.Method {
	case http.MethodPut:
		if has("notification") {
			return s.putNotification(w, r)
		}
		return s.createBucket(w, r)
	case http.MethodHead:
		return s.headBucket(w, r)
	case http.MethodDelete:
		return s.deleteBucket(w, r)
	case http.MethodPost:
		if has("delete") {
			return s.deleteObjects(w, r)
		}
	case http.MethodGet:
		switch {
		case has("location"):
			return s.getLocation(w, r)
		case has("notification"):
			return s.getNotification(w, r)
		case has("uploads"):
			return s.listUploads(w, r)
		case first(q, "list-type") == "2":
			return s.listObjects(w, r, q, true)
		}
		return s.listObjects(w, r, q, false)
	}
	return errMethodNotAllowed
}

// virtualHostBucket is the bucket of a virtual-host-style request to a local name,
// <bucket>.localhost[:port] (which resolves to loopback, as SDKs that address buckets by host
// name send it); "" for any other host, whose requests are path-style.
func virtualHostBucket(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	bucket, ok := strings.CutSuffix(host, ".localhost")
	if !ok || checkBucketName(bucket) != nil {
		return ""
	}
	return bucket
}

// knownParams are the query parameters of the operations served, and those any request may
// carry (x-id, which aws-sdk-go-v2 adds; versionId "null", which is every object's version).
var knownParams = map[string]bool{
	"x-id": true, "versionId": true,
	"list-type": true, "prefix": true, "delimiter": true, "max-keys": true, "continuation-token": true,
	"start-after": true, "fetch-owner": true, "encoding-type": true, "marker": true,
	"location": true, "notification": true, "uploads": true, "delete": true, "uploadId": true,
	"partNumber": true, "max-parts": true, "part-number-marker": true, "max-uploads": true,
	"key-marker": true, "upload-id-marker": true,
	"response-content-type": true, "response-content-language": true, "response-expires": true,
	"response-cache-control": true, "response-content-disposition": true, "response-content-encoding": true,
}

// unknownSubresource names a query parameter of an operation Stepline does not serve (acl,
// tagging, versioning…), which must not be taken for the plain operation on the same path.
// Presigned URLs' X-Amz-* parameters are the signature's.
func unknownSubresource(q map[string][]string) string {
	for k := range q {
		if !knownParams[k] && !strings.HasPrefix(k, "X-Amz-") && !strings.HasPrefix(k, "x-amz-") {
			return k
		}
	}
	return ""
}

func first(q map[string][]string, k string) string {
	if v := q[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return strings.ToUpper(hex.EncodeToString(b[:]))
}
