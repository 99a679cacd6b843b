package s3

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Remote is an external S3 endpoint a bucket is bound to (AWS, or any server that speaks
// S3): every request for the bucket is sent there, re-signed with Credentials, instead of
// being served from a folder.
type Remote struct {
	// Endpoint is the S3 API's URL, such as https://s3.eu-west-1.amazonaws.com; requests to it
	// are path-style (/<bucket>/<key>).
	Endpoint string
	// Region is the region requests are signed for.
	Region string
	// Bucket is the bucket's name at the endpoint; "" for the same name.
	Bucket string
	// Credentials sign the requests; they are looked up for each request, so that
	// temporary credentials are refreshed.
	Credentials aws.CredentialsProvider
}

// remote is a Remote ready to forward requests to.
type remote struct {
	Remote
	base   *url.URL
	signer *v4.Signer
	client *http.Client
}

func newRemotes(rs map[string]Remote) (map[string]*remote, error) {
	if len(rs) == 0 {
		return nil, nil
	}
	// One transport for every bound bucket. No decompression (a gzip object is passed on as
	// its bytes, with its Content-Encoding) and no redirects (S3's 301/307 for another region
	// go to the client, as AWS sends them).
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableCompression = true
	tr.MaxIdleConnsPerHost = 16
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	out := map[string]*remote{}
	for name, r := range rs {
		if err := checkBucketName(name); err != nil {
			return nil, fmt.Errorf("s3: bucket %q bound to %s: invalid name", name, r.Endpoint)
		}
		u, err := url.Parse(r.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("s3: bucket %s: endpoint must be an http:// or https:// URL, not %q", name, r.Endpoint)
		}
		if r.Bucket == "" {
			r.Bucket = name
		}
		if r.Region == "" {
			r.Region = "us-east-1"
		}
		if r.Credentials == nil {
			return nil, fmt.Errorf("s3: bucket %s bound to %s: no credentials", name, r.Endpoint)
		}
		out[name] = &remote{Remote: r, base: u, client: client,
			// S3 signs the path as sent, without the second escaping other services use.
			signer: v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })}
	}
	return out, nil
}

// Bound reports whether bucket is bound to an external endpoint, so that its objects are not
// in a folder of this node's data folder (the Glue crawler reads them through the API).
func (s *Service) Bound(bucket string) bool {
	return s.remotes[bucket] != nil
}

// errBoundDelete refuses DeleteBucket on a bound bucket: the bucket is the endpoint's (it may
// be a real AWS bucket), and a local tool deleting it would surprise.
func errBoundDelete(bucket string, rm *remote) *apiError {
	return &apiError{"MethodNotAllowed", http.StatusMethodNotAllowed, fmt.Sprintf(
		"Bucket %s is bound by the project to %s (bucket %s there); Stepline does not delete it: delete it at that endpoint", bucket, rm.Endpoint, rm.Bucket)}
}

// errCrossCopy refuses a copy between a bound bucket and another (a local one, or one bound to
// another endpoint): no single endpoint holds both objects.
func errCrossCopy(src, dst string) *apiError {
	return &apiError{"NotImplemented", http.StatusNotImplemented, fmt.Sprintf(
		"Stepline does not copy from bucket %s to bucket %s: a bucket bound to an external endpoint copies only within that endpoint; download and upload instead", src, dst)}
}

// sameEndpoint tells whether a copy from bucket src can be sent to rm: src is bound to the same
// endpoint and region (the project gives every binding the same credentials).
func (s *Service) sameEndpoint(src string, rm *remote) (*remote, bool) {
	o := s.remotes[src]
	return o, o != nil && o.base.String() == rm.base.String() && o.Region == rm.Region
}

// Headers not passed on to the endpoint: the client's signature (the request is signed again),
// hop-by-hop headers, and those the outgoing request sets itself.
var dropRequestHeaders = []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-Sha256",
	"Connection", "Keep-Alive", "Proxy-Authorization", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding",
	"Upgrade", "Expect", "Content-Length", "Host"}

// Presigned URLs' signature parameters, which are the client's.
var presignParams = []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
	"X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token"}

// Response headers not passed back: hop-by-hop ones (the server sets its own framing).
var dropResponseHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// maxRewrite bounds the XML answers read whole to put the local bucket name in place of the
// remote one (listings of 1000 keys are well under it).
const maxRewrite = 16 << 20

// forward sends a request for a bound bucket to its endpoint and streams the answer back,
// bodies both ways passed through as they come (no object is held in memory or on disk).
func (s *Service) forward(w http.ResponseWriter, r *request, rm *remote) error {
	if r.Method == http.MethodDelete && r.key == "" && plain(r) {
		return errBoundDelete(r.bucket, rm)
	}
	ctx := r.Context()
	target := *rm.base
	target.Path = strings.TrimSuffix(rm.base.Path, "/") + "/" + rm.Bucket
	target.RawPath = awsEscape(target.Path)
	if r.key != "" {
		target.Path += "/" + r.key
		target.RawPath += "/" + awsEscape(r.key)
	}
	q := r.URL.Query()
	for _, p := range presignParams {
		q.Del(p)
	}
	target.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	out, err := http.NewRequestWithContext(ctx, r.Method, target.String(), nil)
	if err != nil {
		return fmt.Errorf("s3: forwarding to %s: %w", rm.Endpoint, err)
	}
	out.URL = &target
	out.Header = r.Header.Clone()
	for _, h := range dropRequestHeaders {
		out.Header.Del(h)
	}
	payload, err := s.forwardBody(r, out, rm)
	if err != nil {
		return err
	}
	if src := r.Header.Get("X-Amz-Copy-Source"); src != "" {
		v, err := s.copySourceThere(src, r.bucket, rm)
		if err != nil {
			return err
		}
		out.Header.Set("X-Amz-Copy-Source", v)
	}
	creds, err := rm.Credentials.Retrieve(ctx)
	if err != nil {
		return &apiError{"InvalidAccessKeyId", http.StatusForbidden, fmt.Sprintf(
			"Stepline has no credentials for bucket %s's endpoint %s: %v", r.bucket, rm.Endpoint, err)}
	}
	out.Header.Set("X-Amz-Content-Sha256", payload)
	if err := rm.signer.SignHTTP(ctx, creds, out, payload, "s3", rm.Region, s.o.Clock.Now().UTC()); err != nil {
		return fmt.Errorf("s3: signing for %s: %w", rm.Endpoint, err)
	}
	res, err := rm.client.Do(out)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &apiError{"ServiceUnavailable", http.StatusServiceUnavailable, fmt.Sprintf(
			"Bucket %s is bound to %s, which did not answer: %v", r.bucket, rm.Endpoint, err)}
	}
	defer res.Body.Close()
	if res.StatusCode >= 400 && r.Method != http.MethodHead && !strings.Contains(res.Header.Get("Content-Type"), "xml") {
		// Not S3's error document (a proxy or load balancer in front of the endpoint answered):
		// the client gets one, so that its SDK reads a code and the reason.
		b, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return &apiError{strings.ReplaceAll(http.StatusText(res.StatusCode), " ", ""), res.StatusCode, fmt.Sprintf(
			"Bucket %s is bound to %s, which answered HTTP %d: %s", r.bucket, rm.Endpoint, res.StatusCode, strings.TrimSpace(string(b)))}
	}
	h := w.Header()
	for k, vs := range res.Header {
		h[k] = vs
	}
	for _, k := range dropResponseHeaders {
		h.Del(k)
	}
	if rm.Bucket != r.bucket && rewritable(r, res) {
		return s.rewriteAnswer(w, r, rm, res)
	}
	w.WriteHeader(res.StatusCode)
	if r.Method == http.MethodHead {
		return nil
	}
	if _, err := copyBuffered(w, res.Body); err != nil {
		// The status is sent: all that is left is to cut the answer short, which the client
		// sees as a body shorter than its Content-Length.
		s.o.Logger.Warn("s3: relaying a bound bucket's answer", "bucket", r.bucket, "endpoint", rm.Endpoint, "err", err)
	}
	return nil
}

// forwardBody sets out's body from r's and returns the payload hash to sign. aws-chunked
// bodies are decoded (their chunk signatures are the client's, made with Stepline's keys) and
// sent plain with their decoded length; a plain body keeps the SHA-256 the client announced,
// so that the endpoint checks the bytes as S3 would have.
func (s *Service) forwardBody(r *request, out *http.Request, rm *remote) (string, error) {
	if isAWSChunked(r.Request) {
		body, n, err := bodyOf(r.Request, s.o.Credentials)
		if err != nil {
			return "", err
		}
		if n < 0 {
			return "", errMissingLength
		}
		if enc := storedEncoding(r.Header.Get("Content-Encoding")); enc != "" {
			out.Header.Set("Content-Encoding", enc)
		} else {
			out.Header.Del("Content-Encoding")
		}
		// The trailing checksum is read and dropped with the framing, so the header naming
		// its algorithm goes too (S3 refuses an algorithm without its checksum).
		for _, k := range []string{"X-Amz-Decoded-Content-Length", "X-Amz-Trailer", "X-Amz-Sdk-Checksum-Algorithm"} {
			out.Header.Del(k)
		}
		out.Body, out.ContentLength = io.NopCloser(body), n
		if n == 0 {
			out.Body = http.NoBody
		}
		return "UNSIGNED-PAYLOAD", nil
	}
	if r.Method == http.MethodPut && r.key == "" && plain(r) && r.ContentLength <= 0 && rm.Region != "us-east-1" {
		// CreateBucket from a client of Stepline's region, which names none: the endpoint's
		// region must be named outside us-east-1.
		b := []byte(`<CreateBucketConfiguration xmlns="` + s3NS + `"><LocationConstraint>` + rm.Region + `</LocationConstraint></CreateBucketConfiguration>`)
		out.Body, out.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		sum := sha256.Sum256(b)
		return hex.EncodeToString(sum[:]), nil
	}
	if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		out.Body, out.ContentLength = http.NoBody, 0
		return emptySHA256, nil
	}
	if r.ContentLength < 0 {
		return "", errMissingLength
	}
	out.Body, out.ContentLength = r.Body, r.ContentLength
	if v := r.Header.Get("X-Amz-Content-Sha256"); len(v) == 64 {
		if _, err := hex.DecodeString(v); err == nil {
			return strings.ToLower(v), nil
		}
	}
	return "UNSIGNED-PAYLOAD", nil
}

// plain tells whether a request names no subresource (x-id, which aws-sdk-go-v2 adds, aside):
// on a bucket, DELETE is then DeleteBucket and PUT CreateBucket.
func plain(r *request) bool {
	for k := range r.URL.Query() {
		if k != "x-id" {
			return false
		}
	}
	return true
}

// copySourceThere is a copy's X-Amz-Copy-Source as the endpoint names it.
func (s *Service) copySourceThere(src, dst string, rm *remote) (string, error) {
	v, query, _ := strings.Cut(src, "?")
	bucket, key, err := copySource(v)
	if err != nil {
		// The keys S3 allows and folders do not (a trailing '/') are the endpoint's to judge.
		raw, uerr := url.PathUnescape(strings.TrimPrefix(v, "/"))
		var ok bool
		if bucket, key, ok = strings.Cut(raw, "/"); uerr != nil || !ok || key == "" {
			return "", err
		}
	}
	o, ok := s.sameEndpoint(bucket, rm)
	if !ok {
		return "", errCrossCopy(bucket, dst)
	}
	out := "/" + o.Bucket + "/" + awsEscape(key)
	if query != "" {
		out += "?" + query
	}
	return out, nil
}

// rewritable tells whether an answer names the bucket in its body and is small enough to be
// read whole: XML answers to bucket requests (listings), to multipart requests, and errors.
func rewritable(r *request, res *http.Response) bool {
	if r.Method == http.MethodHead || !strings.Contains(res.Header.Get("Content-Type"), "xml") || res.ContentLength > maxRewrite {
		return false
	}
	q := r.URL.Query()
	return r.key == "" || res.StatusCode >= 300 || q.Has("uploads") || q.Has("uploadId") && r.Method != http.MethodPut
}

// bucketElement matches the elements of S3's answers that hold a bucket name.
var bucketElement = regexp.MustCompile(`<(Name|Bucket|BucketName)>([^<]*)</(Name|Bucket|BucketName)>`)

// rewriteAnswer relays an XML answer with the local bucket name where the endpoint put its
// own, so that what the client reads names the bucket it asked for.
func (s *Service) rewriteAnswer(w http.ResponseWriter, r *request, rm *remote, res *http.Response) error {
	body, err := io.ReadAll(io.LimitReader(res.Body, maxRewrite))
	if err != nil {
		return &apiError{"ServiceUnavailable", http.StatusServiceUnavailable, fmt.Sprintf(
			"Bucket %s is bound to %s, whose answer broke off: %v", r.bucket, rm.Endpoint, err)}
	}
	body = bucketElement.ReplaceAllFunc(body, func(m []byte) []byte {
		sub := bucketElement.FindSubmatch(m)
		if string(sub[2]) != rm.Bucket || !bytes.Equal(sub[1], sub[3]) {
			return m
		}
		return []byte("<" + string(sub[1]) + ">" + r.bucket + "</" + string(sub[1]) + ">")
	})
	if loc := res.Header.Get("Location"); loc != "" {
		w.Header().Set("Location", strings.Replace(loc, "/"+rm.Bucket, "/"+r.bucket, 1))
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(res.StatusCode)
	_, _ = w.Write(body)
	return nil
}

// awsEscape escapes a path as AWS's signature canonicalises it: every byte but the unreserved
// characters and '/' as %XX, so that the path sent is the path signed.
func awsEscape(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' || c == '/' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// boundBuckets lists the bound buckets for ListBuckets, dated from the service's start: the
// endpoint's own creation date would take a call (and a permission, s3:ListAllMyBuckets)
// for each listing.
func (s *Service) boundBuckets() []bucketEntry {
	var out []bucketEntry
	for name := range s.remotes {
		out = append(out, bucketEntry{Name: name, CreationDate: isoTime(s.started)})
	}
	return out
}
