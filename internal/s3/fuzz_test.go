package s3_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	s3svc "github.com/stepline/stepline/internal/s3"
)

// fuzzService is a service over DIR = <tmp>/data, with the bucket "fuzz" and the object
// "fuzz/a/b"; outside is a file beside DIR that no request may reach.
func fuzzService(f *testing.F) (svc *s3svc.Service, dir string) {
	base := f.TempDir()
	dir = filepath.Join(base, "data")
	svc, err := s3svc.New(s3svc.Options{Dir: dir})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { svc.Close() })
	if err := os.MkdirAll(filepath.Join(dir, "s3", "fuzz", "a"), 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "s3", "fuzz", "a", "b"), []byte("b"), 0o644); err != nil {
		f.Fatal(err)
	}
	// A symbolic link out of the bucket: no request may follow it.
	if err := os.Symlink(base, filepath.Join(dir, "s3", "fuzz", "out")); err != nil {
		f.Fatal(err)
	}
	return svc, dir
}

// outsideUnchanged fails when anything but DIR exists beside it.
func outsideUnchanged(t *testing.T, dir string) {
	entries, err := os.ReadDir(filepath.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "data" {
		t.Fatalf("a request wrote outside the data folder: %v", entries)
	}
	entries, err = os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "s3" {
		t.Fatalf("a request wrote outside DIR/s3: %v", entries)
	}
}

func serve(svc http.Handler, method, path, query string, h http.Header, body string) *httptest.ResponseRecorder {
	r := &http.Request{Method: method, URL: &url.URL{Path: path, RawQuery: query}, Header: h, Host: "localhost",
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}
	if r.Header == nil {
		r.Header = http.Header{}
	}
	w := httptest.NewRecorder()
	svc.ServeHTTP(w, r)
	return w
}

// FuzzKeys sends requests with any path and query: none may panic, answer 500, or touch a file
// outside DIR/s3; an object written is the file its key names.
func FuzzKeys(f *testing.F) {
	svc, dir := fuzzService(f)
	for _, seed := range []struct{ method, path, query string }{
		{"PUT", "/fuzz/x/y.txt", ""},
		{"PUT", "/fuzz/../escape", ""},
		{"PUT", "/fuzz/out/escape", ""},
		{"GET", "/fuzz/out/data", ""},
		{"PUT", "/../../etc/passwd", ""},
		{"PUT", "/fuzz/a/b/c", ""},
		{"PUT", "/fuzz/a", ""},
		{"DELETE", "/fuzz/a/b", ""},
		{"GET", "/fuzz", "list-type=2&prefix=a/&delimiter=/"},
		{"GET", "/fuzz", "list-type=2&continuation-token=Li4v"},
		{"POST", "/fuzz/k", "uploads"},
		{"PUT", "/fuzz/k", "partNumber=1&uploadId=../../x"},
		{"PUT", "/.meta/x", ""},
		{"DELETE", "/fuzz", ""},
		{"PUT", "/newbucket", ""},
	} {
		f.Add(seed.method, seed.path, seed.query)
	}
	f.Fuzz(func(t *testing.T, method, path, query string) {
		switch method {
		case "GET", "HEAD", "PUT", "POST", "DELETE":
		default:
			method = "GET"
		}
		w := serve(svc, method, path, query, nil, "body")
		if w.Code >= 500 && w.Code != http.StatusNotImplemented {
			t.Fatalf("%s %q?%s: %d %s", method, path, query, w.Code, w.Body)
		}
		outsideUnchanged(t, dir)
		if method == "PUT" && w.Code == 200 && query == "" {
			p := strings.TrimPrefix(path, "/")
			if b, err := os.ReadFile(filepath.Join(dir, "s3", filepath.FromSlash(p))); err == nil && string(b) != "body" && strings.Count(p, "/") > 0 {
				t.Fatalf("PUT %q answered 200 but its file holds %q", path, b)
			}
		}
		// Nothing below DIR/s3 is a link but the seed's.
		_ = filepath.WalkDir(filepath.Join(dir, "s3"), func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type()&fs.ModeSymlink != 0 && d.Name() != "out" {
				t.Fatalf("a request made a link: %s", p)
			}
			return nil
		})
	})
}

// FuzzXML sends any body to the operations that parse XML and to an aws-chunked PutObject.
func FuzzXML(f *testing.F) {
	svc, dir := fuzzService(f)
	w := serve(svc, "POST", "/fuzz/mp", "uploads", nil, "")
	id := w.Body.String()
	id = id[strings.Index(id, "<UploadId>")+len("<UploadId>") : strings.Index(id, "</UploadId>")]
	for _, seed := range []string{
		`<Delete><Object><Key>a/b</Key></Object><Quiet>true</Quiet></Delete>`,
		`<Delete><Object><Key>../../x</Key></Object></Delete>`,
		`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"x"</ETag></Part></CompleteMultipartUpload>`,
		`<NotificationConfiguration><EventBridgeConfiguration/></NotificationConfiguration>`,
		"5;chunk-signature=00\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAA\r\n\r\n",
		"<<<", "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, req := range []struct{ method, path, query string }{
			{"POST", "/fuzz", "delete"},
			{"POST", "/fuzz/mp", "uploadId=" + id},
			{"PUT", "/fuzz", "notification"},
			{"PUT", "/fuzz/chunked", ""},
		} {
			h := http.Header{}
			if req.path == "/fuzz/chunked" {
				h.Set("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
				h.Set("Content-Encoding", "aws-chunked")
			}
			w := serve(svc, req.method, req.path, req.query, h, body)
			if w.Code >= 500 {
				t.Fatalf("%s %s?%s with %q: %d %s", req.method, req.path, req.query, body, w.Code, w.Body)
			}
		}
		// A fuzzed DeleteObjects may delete the seed object; put it back.
		_ = os.MkdirAll(filepath.Join(dir, "s3", "fuzz", "a"), 0o755)
		outsideUnchanged(t, dir)
	})
}
