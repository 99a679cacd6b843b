package s3_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
