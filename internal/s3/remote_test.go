package s3_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/stepline/stepline/internal/clock"
	s3svc "github.com/stepline/stepline/internal/s3"
	"github.com/stepline/stepline/internal/s3/s3test"
	"github.com/stepline/stepline/internal/sigv4"
)

// The external endpoint's own keys, which the clients of Stepline never see.
const (
	remoteKey    = "AKIDREMOTEENDPOINT"
	remoteSecret = "remote-endpoint-secret"
	remoteRegion = "eu-west-1"
)

// checkingProxy stands in front of moto and checks, with our SigV4 verifier, that every
// request Stepline forwards is signed with the endpoint's keys for its region (moto checks no
// signature), then passes it on.
type checkingProxy struct {
	url      string
	verified atomic.Int64
}

func newCheckingProxy(t *testing.T, moto string) *checkingProxy {
	target, err := url.Parse(moto)
	if err != nil {
		t.Fatal(err)
	}
	creds := sigv4.Credentials{remoteKey: remoteSecret}
	rp := httputil.NewSingleHostReverseProxy(target)
	p := &checkingProxy{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if !strings.Contains(auth, "Credential="+remoteKey+"/") || !strings.Contains(auth, "/"+remoteRegion+"/s3/aws4_request") {
			t.Errorf("%s %s reached the endpoint signed %q", r.Method, r.URL, auth)
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		var body []byte
		if !sigv4.BodyUnsigned(r) {
			// The signature covers the body's hash: the body is needed to check it.
			if body, err = io.ReadAll(r.Body); err != nil {
				t.Errorf("reading %s %s: %v", r.Method, r.URL, err)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		if err := creds.Verify(r, body, time.Now()); err != nil {
			t.Errorf("%s %s: the endpoint refuses its signature: %v", r.Method, r.URL, err)
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		p.verified.Add(1)
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	p.url = hs.URL
	return p
}

// boundFixture is Stepline's S3 with buckets bound to a moto_server, a client of Stepline, and
// one of moto itself to see what really is there.
type boundFixture struct {
	*fixture
	moto    *s3.Client
	motoURL string
	proxy   *checkingProxy
	svc     *s3svc.Service
}

func newBoundFixture(t *testing.T) *boundFixture {
	motoURL := s3test.StartMoto(t)
	proxy := newCheckingProxy(t, motoURL)
	keys := credentials.NewStaticCredentialsProvider(remoteKey, remoteSecret, "")
	dir := t.TempDir()
	svc, err := s3svc.New(s3svc.Options{Dir: dir, Clock: clock.Real{}, Region: "us-east-1", Remotes: map[string]s3svc.Remote{
		// Named otherwise at the endpoint, behind the checking proxy.
		"bound": {Endpoint: proxy.url, Region: remoteRegion, Bucket: "remote-bucket", Credentials: keys},
		// The same name, straight to moto (the throughput figures).
		"direct": {Endpoint: motoURL, Region: remoteRegion, Credentials: keys},
	}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(svc)
	t.Cleanup(func() {
		hs.Close()
		if err := svc.Close(); err != nil {
			t.Error(err)
		}
	})
	client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), RetryMaxAttempts: 1})
	moto := s3.New(s3.Options{Region: remoteRegion, BaseEndpoint: aws.String(motoURL), UsePathStyle: true,
		Credentials: keys, RetryMaxAttempts: 1})
	return &boundFixture{fixture: &fixture{dir: dir, url: hs.URL, client: client}, moto: moto, motoURL: motoURL, proxy: proxy, svc: svc}
}

func readAll(t *testing.T, out *s3.GetObjectOutput, err error) []byte {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBoundBucket(t *testing.T) {
	ctx := context.Background()
	f := newBoundFixture(t)
	c := f.client

	// CreateBucket goes to the endpoint, naming its region (a client of Stepline's us-east-1
	// names none).
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bound")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	loc, err := f.moto.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String("remote-bucket")})
	if err != nil {
		t.Fatalf("moto has no remote-bucket: %v", err)
	}
	if loc.LocationConstraint != remoteRegion {
		t.Errorf("remote-bucket is in %q, want %s", loc.LocationConstraint, remoteRegion)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "s3", "bound")); !os.IsNotExist(err) {
		t.Errorf("a bound bucket got a folder: %v", err)
	}
	f.bucket(t, "local")

	t.Run("ListBuckets", func(t *testing.T) {
		out, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, b := range out.Buckets {
			names = append(names, *b.Name)
		}
		if want := []string{"bound", "direct", "local"}; !slices.Equal(names, want) {
			t.Errorf("ListBuckets = %v, want %v", names, want)
		}
	})

	body := []byte("hello, bound bucket")
	t.Run("put, head, get, range", func(t *testing.T) {
		put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bound"), Key: aws.String("dir/hello world+1.txt"),
			Body: bytes.NewReader(body), ContentType: aws.String("text/plain"), Metadata: map[string]string{"origin": "test"}})
		if err != nil {
			t.Fatal(err)
		}
		if want := `"` + md5hex(body) + `"`; aws.ToString(put.ETag) != want {
			t.Errorf("ETag %s, want %s", aws.ToString(put.ETag), want)
		}
		// What moto holds, asked directly.
		there, err := f.moto.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("remote-bucket"), Key: aws.String("dir/hello world+1.txt")})
		if got := readAll(t, there, err); !bytes.Equal(got, body) {
			t.Errorf("moto holds %q", got)
		}
		if there.Metadata["origin"] != "test" || aws.ToString(there.ContentType) != "text/plain" {
			t.Errorf("moto holds metadata %v, type %s", there.Metadata, aws.ToString(there.ContentType))
		}
		head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bound"), Key: aws.String("dir/hello world+1.txt")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToInt64(head.ContentLength) != int64(len(body)) || head.Metadata["origin"] != "test" {
			t.Errorf("HeadObject: length %d, metadata %v", aws.ToInt64(head.ContentLength), head.Metadata)
		}
		got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bound"), Key: aws.String("dir/hello world+1.txt"), Range: aws.String("bytes=7-11")})
		if b := readAll(t, got, err); string(b) != "bound" {
			t.Errorf("Range bytes=7-11 = %q", b)
		}
		if aws.ToString(got.ContentRange) != fmt.Sprintf("bytes 7-11/%d", len(body)) {
			t.Errorf("Content-Range %q", aws.ToString(got.ContentRange))
		}
	})

	t.Run("NoSuchKey", func(t *testing.T) {
		_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bound"), Key: aws.String("missing")})
		if code(err) != "NoSuchKey" {
			t.Errorf("GetObject of a missing key: %v", err)
		}
		_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bound"), Key: aws.String("missing")})
		if code(err) != "NotFound" {
			t.Errorf("HeadObject of a missing key: %v", err)
		}
	})

	t.Run("list", func(t *testing.T) {
		for _, k := range []string{"logs/1", "logs/2", "logs/3", "logs/4", "logs/5", "raw/a", "top.txt"} {
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bound"), Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
				t.Fatal(err)
			}
		}
		out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("bound"), Delimiter: aws.String("/")})
		if err != nil {
			t.Fatal(err)
		}
		var prefixes, keys []string
		for _, p := range out.CommonPrefixes {
			prefixes = append(prefixes, *p.Prefix)
		}
		for _, o := range out.Contents {
			keys = append(keys, *o.Key)
		}
		if !slices.Equal(prefixes, []string{"dir/", "logs/", "raw/"}) || !slices.Equal(keys, []string{"top.txt"}) {
			t.Errorf("delimiter /: prefixes %v, keys %v", prefixes, keys)
		}
		if aws.ToString(out.Name) != "bound" {
			t.Errorf("the listing names bucket %q, not the one asked for", aws.ToString(out.Name))
		}
		var paged []string
		pages := 0
		p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String("bound"), Prefix: aws.String("logs/"), MaxKeys: aws.Int32(2)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, o := range page.Contents {
				paged = append(paged, *o.Key)
			}
		}
		if pages != 3 || !slices.Equal(paged, []string{"logs/1", "logs/2", "logs/3", "logs/4", "logs/5"}) {
			t.Errorf("paging by 2: %d pages, %v", pages, paged)
		}
		v1, err := c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String("bound"), Prefix: aws.String("raw/")})
		if err != nil || len(v1.Contents) != 1 || aws.ToString(v1.Name) != "bound" {
			t.Errorf("ListObjects (v1): %v, %+v", err, v1)
		}
	})

	t.Run("copy and delete", func(t *testing.T) {
		if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("bound"), Key: aws.String("copy/of hello.txt"),
			CopySource: aws.String("bound/dir/hello%20world%2B1.txt")}); err != nil {
			t.Fatalf("CopyObject: %v", err)
		}
		there, err := f.moto.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("remote-bucket"), Key: aws.String("copy/of hello.txt")})
		if got := readAll(t, there, err); !bytes.Equal(got, body) {
			t.Errorf("the copy holds %q", got)
		}
		f.put(t, "local", "x", []byte("local"))
		_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("bound"), Key: aws.String("y"), CopySource: aws.String("local/x")})
		if code(err) != "NotImplemented" {
			t.Errorf("copy local → bound: %v", err)
		}
		_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("local"), Key: aws.String("y"), CopySource: aws.String("bound/top.txt")})
		if code(err) != "NotImplemented" {
			t.Errorf("copy bound → local: %v", err)
		}
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("bound"), Key: aws.String("copy/of hello.txt")}); err != nil {
			t.Fatal(err)
		}
		_, err = f.moto.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("remote-bucket"), Key: aws.String("copy/of hello.txt")})
		if code(err) != "NotFound" {
			t.Errorf("after DeleteObject, moto's HeadObject: %v", err)
		}
		del, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("bound"), Delete: &types.Delete{
			Objects: []types.ObjectIdentifier{{Key: aws.String("logs/4")}, {Key: aws.String("logs/5")}}}})
		if err != nil || len(del.Deleted) != 2 {
			t.Fatalf("DeleteObjects: %v %+v", err, del)
		}
	})

	t.Run("multipart 20 MB", func(t *testing.T) {
		data := randomBytes(20<<20, 7)
		key := aws.String("big/data.bin")
		up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("bound"), Key: key})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(up.Bucket) != "bound" {
			t.Errorf("CreateMultipartUpload names bucket %q", aws.ToString(up.Bucket))
		}
		var parts []types.CompletedPart
		for i := 0; i*s3svc.MinPartSize < len(data); i++ {
			chunk := data[i*s3svc.MinPartSize : min((i+1)*s3svc.MinPartSize, len(data))]
			n := int32(i + 1)
			out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("bound"), Key: key, UploadId: up.UploadId,
				PartNumber: aws.Int32(n), Body: bytes.NewReader(chunk)})
			if err != nil {
				t.Fatalf("UploadPart %d: %v", n, err)
			}
			parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(n), ETag: out.ETag})
		}
		lp, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("bound"), Key: key, UploadId: up.UploadId})
		if err != nil || len(lp.Parts) != len(parts) {
			t.Fatalf("ListParts: %v, %d parts", err, len(lp.Parts))
		}
		done, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("bound"), Key: key,
			UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
		if err != nil {
			t.Fatalf("CompleteMultipartUpload: %v", err)
		}
		if aws.ToString(done.Bucket) != "bound" || !strings.HasSuffix(aws.ToString(done.ETag), `-4"`) {
			t.Errorf("CompleteMultipartUpload: bucket %q, ETag %s", aws.ToString(done.Bucket), aws.ToString(done.ETag))
		}
		there, err := f.moto.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("remote-bucket"), Key: key})
		if got := readAll(t, there, err); !bytes.Equal(got, data) {
			t.Errorf("moto holds %d bytes, MD5 %s; want %d, %s", len(got), md5hex(got), len(data), md5hex(data))
		}
		back, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bound"), Key: key})
		if got := readAll(t, back, err); !bytes.Equal(got, data) {
			t.Errorf("read back through Stepline: %d bytes, MD5 %s", len(got), md5hex(got))
		}
	})

	t.Run("aws-chunked bodies", func(t *testing.T) {
		// Each framing the SDKs send, decoded and sent on plain (the chunk signatures are the
		// client's, made with Stepline's keys).
		for _, tc := range []struct{ key, sha, encoding, body string }{
			{"chunked/signed", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "aws-chunked",
				chunk("hello ", true) + chunk("world", true) + chunk("", true) + "\r\n"},
			{"chunked/trailer", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "aws-chunked",
				chunk("hello ", false) + chunk("world", false) + "0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n"},
		} {
			req, _ := http.NewRequest(http.MethodPut, f.url+"/bound/"+tc.key, strings.NewReader(tc.body))
			req.Header.Set("X-Amz-Content-Sha256", tc.sha)
			req.Header.Set("Content-Encoding", tc.encoding)
			req.Header.Set("X-Amz-Decoded-Content-Length", "11")
			req.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
			req.Header.Set("X-Amz-Sdk-Checksum-Algorithm", "CRC32")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: %d %s", tc.key, resp.StatusCode, msg)
			}
			there, err := f.moto.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("remote-bucket"), Key: aws.String(tc.key)})
			if got := readAll(t, there, err); string(got) != "hello world" || aws.ToString(there.ContentEncoding) != "" {
				t.Errorf("%s: moto holds %q, Content-Encoding %q", tc.key, got, aws.ToString(there.ContentEncoding))
			}
		}
		// The SDK itself, over TLS, streaming a body it cannot hash first: aws-chunked with a
		// CRC32 trailer.
		var sawChunked atomic.Bool
		hs := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") {
				sawChunked.Store(true)
			}
			f.svc.ServeHTTP(w, r)
		}))
		defer hs.Close()
		tls := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), UsePathStyle: true, HTTPClient: hs.Client(),
			Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), RetryMaxAttempts: 1})
		data := randomBytes(3<<20, 5)
		if _, err := tls.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bound"), Key: aws.String("chunked/sdk"),
			Body: io.MultiReader(bytes.NewReader(data)), ContentLength: aws.Int64(int64(len(data))),
			ChecksumAlgorithm: types.ChecksumAlgorithmCrc32}); err != nil {
			t.Fatalf("PutObject streamed over TLS: %v", err)
		}
		there, err := f.moto.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("remote-bucket"), Key: aws.String("chunked/sdk")})
		if got := readAll(t, there, err); !bytes.Equal(got, data) {
			t.Errorf("moto holds %d bytes of the streamed upload", len(got))
		}
		if !sawChunked.Load() {
			t.Error("the SDK sent no aws-chunked body: the decoding is not tested")
		}
	})

	t.Run("presigned URL", func(t *testing.T) {
		ps := s3.NewPresignClient(c)
		req, err := ps.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bound"), Key: aws.String("top.txt")})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(req.URL)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(got) != "top.txt" {
			t.Errorf("presigned GET: %d %q", resp.StatusCode, got)
		}
	})

	t.Run("DeleteBucket is refused", func(t *testing.T) {
		_, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("bound")})
		if code(err) != "MethodNotAllowed" || !strings.Contains(err.Error(), "bound by the project") {
			t.Errorf("DeleteBucket: %v", err)
		}
		if _, err := f.moto.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("remote-bucket")}); err != nil {
			t.Errorf("the endpoint's bucket is gone: %v", err)
		}
	})

	if f.proxy.verified.Load() == 0 {
		t.Error("no request reached the endpoint")
	}
}

// TestBoundBucketUnreachable: an endpoint that does not answer is named in the error.
func TestBoundBucketUnreachable(t *testing.T) {
	svc, err := s3svc.New(s3svc.Options{Dir: t.TempDir(), Remotes: map[string]s3svc.Remote{
		"gone": {Endpoint: "http://127.0.0.1:1", Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")}}})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	rec := httptest.NewRecorder()
	svc.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/gone/key", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "http://127.0.0.1:1") {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}

// TestBoundBucketNotS3: an answer of something other than S3 in front of the endpoint (an
// HTML error page) reaches the client as an S3 error document naming the status.
func TestBoundBucketNotS3(t *testing.T) {
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "<html>upstream gone</html>")
	}))
	defer page.Close()
	svc, err := s3svc.New(s3svc.Options{Dir: t.TempDir(), Remotes: map[string]s3svc.Remote{
		"proxied": {Endpoint: page.URL, Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")}}})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	rec := httptest.NewRecorder()
	svc.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/proxied/key", nil))
	if rec.Code != http.StatusBadGateway || !strings.Contains(rec.Body.String(), "<Code>BadGateway</Code>") ||
		!strings.Contains(rec.Body.String(), "upstream gone") {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}

// TestBoundBucketPython runs testdata/bound_boto3.py: boto3 (its managed transfers, which
// upload 20 MB in parts) and the AWS CLI against Stepline, checking what moto holds directly.
func TestBoundBucketPython(t *testing.T) {
	for _, tool := range []string{"python3", "aws"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		t.Skip("boto3 is not installed")
	}
	f := newBoundFixture(t)
	cmd := exec.Command("python3", "testdata/bound_boto3.py")
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "STEPLINE_ENDPOINT="+f.url, "MOTO_ENDPOINT="+f.motoURL, "REMOTE_REGION="+remoteRegion,
		"AWS_ACCESS_KEY_ID=AKIDSTEPLINE", "AWS_SECRET_ACCESS_KEY=stepline-secret", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"TMPDIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("testdata/bound_boto3.py: %v", err)
	}
}

// TestBoundBucketThroughput logs how a 20 MB object moves through Stepline to moto against
// straight to moto (-v shows it; nothing is asserted of times).
func TestBoundBucketThroughput(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	ctx := context.Background()
	f := newBoundFixture(t)
	if _, err := f.moto.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("direct"),
		CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: remoteRegion}}); err != nil {
		t.Fatal(err)
	}
	data := randomBytes(20<<20, 7)
	sum := md5.Sum(data)
	for _, tc := range []struct {
		name   string
		client *s3.Client
	}{{"moto direct", f.moto}, {"through Stepline", f.client}, {"moto direct again", f.moto}} {
		start := time.Now()
		if _, err := tc.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("direct"), Key: aws.String("t"), Body: bytes.NewReader(data)}); err != nil {
			t.Fatal(err)
		}
		put := time.Since(start)
		start = time.Now()
		out, err := tc.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("direct"), Key: aws.String("t")})
		got := readAll(t, out, err)
		get := time.Since(start)
		if md5.Sum(got) != sum {
			t.Fatalf("%s: read back %d bytes, not what was put", tc.name, len(got))
		}
		mb := float64(len(data)) / (1 << 20)
		t.Logf("20 MiB %-18s PutObject %6.0f ms (%5.0f MiB/s), GetObject %6.0f ms (%5.0f MiB/s)", tc.name,
			put.Seconds()*1000, mb/put.Seconds(), get.Seconds()*1000, mb/get.Seconds())
	}
}
