package s3_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	s3svc "github.com/stepline/stepline/internal/s3"
	"github.com/stepline/stepline/internal/sigv4"
)

// chunk frames data as one aws-chunked chunk, signed or not.
func chunk(data string, signed bool) string {
	sig := ""
	if signed {
		sig = ";chunk-signature=" + strings.Repeat("0", 64)
	}
	return fmt.Sprintf("%x%s\r\n%s\r\n", len(data), sig, data)
}

func TestAWSChunked(t *testing.T) {
	f := newFixture(t, "us-east-1")
	f.bucket(t, "chunky")
	big := strings.Repeat("0123456789abcdef", 5000) // larger than the reader's buffer
	for _, tc := range []struct {
		name, sha, encoding, body, decoded string
		want                               int
	}{
		{"signed", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "aws-chunked",
			chunk("hello ", true) + chunk("world", true) + chunk("", true) + "\r\n", "hello world", 200},
		{"unsigned with a checksum trailer", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "aws-chunked",
			chunk("hello ", false) + chunk("world", false) + "0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n", "hello world", 200},
		{"signed trailer", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", "aws-chunked,gzip",
			chunk(big, true) + chunk("", true) + "x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:" + strings.Repeat("0", 64) + "\r\n\r\n", big, 200},
		{"no final blank line", "", "aws-chunked", chunk("abc", false) + "0\r\n", "abc", 200},
		{"short chunk", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "", "10\r\nabc\r\n0\r\n\r\n", "", 400},
		{"bad size", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "", "zz\r\nabc\r\n0\r\n\r\n", "", 400},
		{"missing crlf after data", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "", "3\r\nabcX0\r\n\r\n", "", 400},
		{"endless header", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "", strings.Repeat("1", 10000), "", 400},
		{"decoded length mismatch", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "", chunk("abc", false) + "0\r\n\r\n", "abcd", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPut, f.url+"/chunky/obj", strings.NewReader(tc.body))
			if tc.sha != "" {
				req.Header.Set("X-Amz-Content-Sha256", tc.sha)
			}
			if tc.encoding != "" {
				req.Header.Set("Content-Encoding", tc.encoding)
			}
			if tc.decoded != "" {
				req.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(len(tc.decoded)))
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if tc.want != 200 {
				return
			}
			got, err := os.ReadFile(filepath.Join(f.dir, "s3", "chunky", "obj"))
			if err != nil || string(got) != tc.decoded {
				t.Fatalf("stored %d bytes (%v), want %d", len(got), err, len(tc.decoded))
			}
			if md5hex(got) != strings.Trim(resp.Header.Get("ETag"), `"`) {
				t.Fatalf("ETag %s is not the decoded bytes' MD5", resp.Header.Get("ETag"))
			}
			hr, _ := http.NewRequest(http.MethodHead, f.url+"/chunky/obj", nil)
			hresp, err := http.DefaultClient.Do(hr)
			if err != nil {
				t.Fatal(err)
			}
			hresp.Body.Close()
			if ce := hresp.Header.Get("Content-Encoding"); strings.Contains(ce, "aws-chunked") {
				t.Fatalf("stored Content-Encoding %q keeps the transfer framing", ce)
			}
		})
	}
	// Nothing is left in .tmp by the refused bodies.
	if entries, _ := os.ReadDir(filepath.Join(f.dir, "s3", ".tmp")); len(entries) != 0 {
		t.Fatalf("temporary files left: %v", entries)
	}
}

// A body whose SHA-256 is not the one X-Amz-Content-Sha256 announces is refused, as S3 does.
func TestContentSHA256(t *testing.T) {
	f := newFixture(t, "us-east-1")
	f.bucket(t, "hashed")
	for _, tc := range []struct {
		name, sha string
		want      int
	}{
		{"right", "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", 200},
		{"wrong", strings.Repeat("0", 64), 400},
		{"unsigned", "UNSIGNED-PAYLOAD", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPut, f.url+"/hashed/"+tc.name, strings.NewReader("hello"))
			req.Header.Set("X-Amz-Content-Sha256", tc.sha)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			_, err = os.Stat(filepath.Join(f.dir, "s3", "hashed", tc.name))
			if stored := err == nil; stored != (tc.want == 200) {
				t.Fatalf("stored: %v", stored)
			}
		})
	}
}

// The chunked upload example of AWS's SigV4 documentation ("Transferring payload in multiple
// chunks"): its seed and chunk signatures are checked, and a changed byte or a missing last
// chunk is refused.
func TestChunkSignatures(t *testing.T) {
	dir := t.TempDir()
	svc, err := s3svc.New(s3svc.Options{Dir: dir, Credentials: sigv4.Credentials{"AKIAIOSFODNN7EXAMPLE": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	hs := httptest.NewServer(svc)
	defer hs.Close()
	if err := os.MkdirAll(filepath.Join(dir, "s3", "examplebucket"), 0o755); err != nil {
		t.Fatal(err)
	}
	a64k, a1k := strings.Repeat("a", 65536), strings.Repeat("a", 1024)
	signed := func(data, sig string) string {
		return fmt.Sprintf("%x;chunk-signature=%s\r\n%s\r\n", len(data), sig, data)
	}
	const (
		sig1    = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
		sig2    = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
		sigLast = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
	)
	for _, tc := range []struct {
		name, body string
		want       int
	}{
		{"as documented", signed(a64k, sig1) + signed(a1k, sig2) + signed("", sigLast), 200},
		{"a changed byte", signed(a64k, sig1) + signed("b"+a1k[1:], sig2) + signed("", sigLast), 403},
		{"no last chunk", signed(a64k, sig1) + signed(a1k, sig2), 400},
		{"chunks swapped", signed(a1k, sig2) + signed(a64k, sig1) + signed("", sigLast), 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPut, hs.URL+"/examplebucket/chunkObject.txt", strings.NewReader(tc.body))
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"+
				"SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,"+
				"Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")
			req.Header.Set("X-Amz-Date", "20130524T000000Z")
			req.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
			req.Header.Set("Content-Encoding", "aws-chunked")
			req.Header.Set("X-Amz-Decoded-Content-Length", "66560")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

// Over HTTPS, asked for a checksum, aws-sdk-go-v2 streams uploads as aws-chunked bodies with a
// CRC32 trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER), as it does against S3 itself.
func TestSDKTrailingChecksum(t *testing.T) {
	svc, err := s3svc.New(s3svc.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	var sawChunked atomic.Bool
	hs := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") {
			sawChunked.Store(true)
		}
		svc.ServeHTTP(w, r)
	}))
	defer hs.Close()
	client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), UsePathStyle: true,
		HTTPClient: hs.Client(), Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), RetryMaxAttempts: 1})
	ctx := context.Background()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("tls")}); err != nil {
		t.Fatal(err)
	}
	body := randomBytes(3<<20, 11)
	for _, key := range []string{"seekable", "streamed"} {
		var r io.Reader = bytes.NewReader(body)
		if key == "streamed" {
			r = io.MultiReader(r) // not seekable: the SDK cannot hash it before sending
		}
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("tls"), Key: &key, Body: r,
			ContentLength: aws.Int64(int64(len(body))), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32}); err != nil {
			t.Fatalf("PutObject %s: %v", key, err)
		}
		out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("tls"), Key: &key})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if !bytes.Equal(got, body) || *out.ETag != `"`+md5hex(body)+`"` {
			t.Fatalf("%s: %d bytes back, ETag %s", key, len(got), *out.ETag)
		}
	}
	if !sawChunked.Load() {
		t.Fatal("the SDK sent no aws-chunked body: this test no longer tests the decoder")
	}
}
