package glue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Objects is the S3 service as Glue needs it for buckets bound to an external S3 endpoint,
// whose objects are in no folder of the data folder: Bound names them, and the handler lists
// and reads them (it forwards to the endpoint).
type Objects interface {
	http.Handler
	Bound(bucket string) bool
}

// bound tells whether bucket is bound to an external endpoint.
func (s *Service) bound(bucket string) bool {
	return s.o.Objects != nil && s.o.Objects.Bound(bucket)
}

// scratch is a crawl's temporary folder, made when a target needs one (a bound bucket's
// objects, downloaded to be read as the local buckets' files are), removed when the crawl ends.
type scratch struct {
	base, dir string
}

func (sc *scratch) path() (string, error) {
	if sc.dir != "" {
		return sc.dir, nil
	}
	if err := os.MkdirAll(sc.base, 0o755); err != nil {
		return "", err
	}
	removeStaleScratch(sc.base)
	dir, err := os.MkdirTemp(sc.base, "crawl-")
	if err != nil {
		return "", err
	}
	sc.dir = dir
	return dir, nil
}

// staleScratch is how old a scratch folder must be to be taken for the leftover of a crawl its
// server died in: a day, since another node sharing the data folder may be crawling now.
const staleScratch = 24 * time.Hour

// removeStaleScratch removes the scratch folders of crawls that never ended.
func removeStaleScratch(base string) {
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleScratch {
			_ = os.RemoveAll(filepath.Join(base, e.Name())) // another node may have removed it first
		}
	}
}

func (sc *scratch) remove() {
	if sc.dir != "" {
		_ = os.RemoveAll(sc.dir) // a leftover is harmless, and the next start's scratch is another
	}
}

// download copies the objects of a bound bucket under prefix (a folder: "" or without its
// final '/') into dir/<bucket>/, listing and reading them through the S3 handler, and returns
// the folder that stands for s3://bucket/prefix. Every object is read whole, as the crawl then
// reads the files: a crawler of a large remote prefix moves it all once per crawl.
func (s *Service) download(ctx context.Context, dir, bucket, prefix string) (string, error) {
	root := filepath.Join(dir, bucket)
	list := prefix
	if list != "" {
		list += "/"
	}
	token := ""
	for {
		q := url.Values{"list-type": {"2"}, "prefix": {list}}
		if token != "" {
			q.Set("continuation-token", token)
		}
		rec := httptest.NewRecorder()
		s.o.Objects.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, "/"+bucket+"?"+q.Encode(), nil))
		if rec.Code != http.StatusOK {
			return "", fmt.Errorf("listing s3://%s/%s at its endpoint: %s", bucket, list, s3Message(rec.Code, rec.Body.Bytes()))
		}
		var page struct {
			Contents []struct {
				Key string `xml:"Key"`
			} `xml:"Contents"`
			IsTruncated           bool   `xml:"IsTruncated"`
			NextContinuationToken string `xml:"NextContinuationToken"`
		}
		if err := xml.Unmarshal(rec.Body.Bytes(), &page); err != nil {
			return "", fmt.Errorf("listing s3://%s/%s at its endpoint: %w", bucket, list, err)
		}
		for _, c := range page.Contents {
			// Folder markers ("dir/") and keys no file can have are not files to crawl.
			if strings.HasSuffix(c.Key, "/") || !filepath.IsLocal(filepath.FromSlash(c.Key)) || path.Clean(c.Key) != c.Key {
				continue
			}
			if err := s.getObject(ctx, bucket, c.Key, filepath.Join(root, filepath.FromSlash(c.Key))); err != nil {
				return "", err
			}
		}
		if !page.IsTruncated || page.NextContinuationToken == "" {
			break
		}
		token = page.NextContinuationToken
	}
	return filepath.Join(root, filepath.FromSlash(prefix)), nil
}

// getObject writes a bound bucket's object to the file dst, streaming it (through a temporary
// file and a rename, so that dst is whole or absent).
func (s *Service) getObject(ctx context.Context, bucket, key, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(dst), ".get-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // gone after the rename
	w := &fileResponse{f: f, h: http.Header{}}
	segs := strings.Split(key, "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	s.o.Objects.ServeHTTP(w, httptest.NewRequestWithContext(ctx, http.MethodGet, "/"+bucket+"/"+strings.Join(segs, "/"), nil))
	if err := f.Close(); err != nil {
		return err
	}
	if w.err != nil {
		return w.err
	}
	if w.code != http.StatusOK {
		return fmt.Errorf("reading s3://%s/%s at its endpoint: %s", bucket, key, s3Message(w.code, w.body))
	}
	return os.Rename(f.Name(), dst)
}

// fileResponse is a ResponseWriter writing a successful answer's body to a file, and keeping
// an error's (small) body.
type fileResponse struct {
	f    *os.File
	h    http.Header
	code int
	body []byte
	err  error
}

func (w *fileResponse) Header() http.Header { return w.h }

func (w *fileResponse) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *fileResponse) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	if w.code != http.StatusOK {
		if len(w.body) < 64<<10 {
			w.body = append(w.body, b...)
		}
		return len(b), nil
	}
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.f.Write(b)
	if err != nil {
		w.err = err
	}
	return n, err
}

// s3Message is the code and message of an S3 error body, or the status.
func s3Message(code int, body []byte) string {
	var e struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	if xml.Unmarshal(body, &e) == nil && e.Code != "" {
		return e.Code + ": " + e.Message
	}
	return fmt.Sprintf("HTTP %d", code)
}

// boundScript downloads a job's script from a bound bucket into the data folder (one file per
// ScriptLocation, replaced whole by each download) and returns its path.
func (s *Service) boundScript(bucket, key, loc string) (string, error) {
	sum := sha256.Sum256([]byte(loc))
	dst := filepath.Join(s.o.Dir, "glue", "scripts", hex.EncodeToString(sum[:8]), path.Base(key))
	if err := s.getObject(s.ctx, bucket, key, dst); err != nil {
		return "", fmt.Errorf("failed to download script from %s: %w", loc, err)
	}
	return dst, nil
}

var _ io.Writer = (*fileResponse)(nil)
