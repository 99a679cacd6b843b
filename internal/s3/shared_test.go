package s3_test

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stepline/stepline/internal/clock"
	s3svc "github.com/stepline/stepline/internal/s3"
)

// Two nodes share DIR; writers replace one key through both while readers read it through both:
// every read is one whole body whose MD5 is the ETag sent with it, never a mix or a half.
func TestSharedDirAtomic(t *testing.T) {
	dir := t.TempDir()
	var urls []string
	for range 2 {
		svc, err := s3svc.New(s3svc.Options{Dir: dir, Clock: clock.Real{}})
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(svc)
		t.Cleanup(func() { hs.Close(); svc.Close() })
		urls = append(urls, hs.URL)
	}
	do := func(method, url string, body []byte) (*http.Response, []byte) {
		req, _ := http.NewRequest(method, url, bytes.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return nil, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	if resp, _ := do(http.MethodPut, urls[0]+"/shared", nil); resp == nil || resp.StatusCode != 200 {
		t.Fatal("CreateBucket failed")
	}
	bodies := make([][]byte, 6)
	for i := range bodies {
		bodies[i] = bytes.Repeat([]byte{byte('a' + i)}, 256<<10+i*1000)
	}
	do(http.MethodPut, urls[1]+"/shared/key", bodies[0])
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 10 {
				resp, _ := do(http.MethodPut, urls[w%2]+"/shared/key", bodies[(w+i)%len(bodies)])
				if resp != nil && resp.StatusCode != 200 {
					t.Errorf("PutObject: %d", resp.StatusCode)
				}
			}
		})
	}
	for r := range 4 {
		wg.Go(func() {
			for range 20 {
				resp, b := do(http.MethodGet, urls[r%2]+"/shared/key", nil)
				if resp == nil {
					return
				}
				sum := md5.Sum(b)
				if resp.StatusCode != 200 || len(b) == 0 || bytes.Count(b, b[:1]) != len(b) {
					t.Errorf("GetObject: %d, a body of %d bytes mixing writes", resp.StatusCode, len(b))
				}
				if etag := strings.Trim(resp.Header.Get("ETag"), `"`); etag != hex.EncodeToString(sum[:]) {
					t.Errorf("ETag %s is not the MD5 of the %d bytes sent", etag, len(b))
				}
			}
		})
	}
	wg.Wait()
}

// A request to <bucket>.localhost is virtual-host style.
func TestVirtualHost(t *testing.T) {
	f := newFixture(t, "us-east-1")
	f.bucket(t, "vhost")
	req, _ := http.NewRequest(http.MethodPut, f.url+"/dir/obj.txt", strings.NewReader("v"))
	req.Host = "vhost.localhost:9999"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT by virtual host: %d", resp.StatusCode)
	}
	if got := f.get(t, "vhost", "dir/obj.txt"); string(got) != "v" {
		t.Fatalf("object holds %q", got)
	}
	req, _ = http.NewRequest(http.MethodGet, f.url+"/?list-type=2", nil)
	req.Host = "vhost.localhost"
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "<Key>dir/obj.txt</Key>") {
		t.Fatalf("ListObjectsV2 by virtual host: %s", b)
	}
}
