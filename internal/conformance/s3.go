package conformance

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"

	"github.com/stepline/stepline/internal/jsonv"
	"github.com/stepline/stepline/internal/s3"
)

// Object is an S3 object a case's test put before its execution.
type Object struct {
	Bucket, Key, Body string
}

// binaryPlaceholders are how the corpus records a body given as bytes.
var binaryPlaceholders = []string{"<bytes>", "<bytearray>"}

// buckets lists the buckets c's context says the test created.
func buckets(c *Case) []string {
	res, _ := get(c.Context, "resources").([]jsonv.Value)
	var names []string
	for _, r := range res {
		o, _ := r.(*jsonv.Object)
		if str(o, "kind") == "s3_bucket" {
			names = append(names, str(o, "name"))
		}
	}
	return names
}

// objects lists the objects the test put before starting the execution. A body recorded as
// bytes is the text the execution's recorded output shows for it (the cases that read one
// back), or empty.
func objects(c *Case) []Object {
	calls, _ := get(c.Context, "other_api_calls_by_test").([]jsonv.Value)
	var objs []Object
	for _, call := range calls {
		o, _ := call.(*jsonv.Object)
		if str(o, "service") != "s3" || str(o, "op") != "put_object" {
			continue
		}
		args, _ := get(o, "args").(*jsonv.Object)
		body := str(args, "Body")
		if slices.Contains(binaryPlaceholders, body) {
			out, _ := get(c.Expect, "output").(*jsonv.Object)
			body = str(out, "Body")
		}
		objs = append(objs, Object{Bucket: str(args, "Bucket"), Key: str(args, "Key"), Body: body})
	}
	return objs
}

// newS3World is an S3 service of its own over dir with the case's buckets and objects, made
// through the S3 API as the recorded tests made them.
func newS3World(dir string, names []string, objs []Object) (*s3.Service, error) {
	svc, err := s3.New(s3.Options{Dir: dir, Region: Region})
	if err != nil {
		return nil, err
	}
	put := func(path, body string) error {
		req := httptest.NewRequest(http.MethodPut, path, strings.NewReader(body))
		rec := httptest.NewRecorder()
		svc.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			return fmt.Errorf("PUT %s: %d %s", path, rec.Code, strings.TrimSpace(rec.Body.String()))
		}
		return nil
	}
	for _, b := range names {
		if err := put("/"+url.PathEscape(b), ""); err != nil {
			return nil, err
		}
	}
	for _, o := range objs {
		if err := put("/"+url.PathEscape(o.Bucket)+"/"+escapeKey(o.Key), o.Body); err != nil {
			return nil, err
		}
	}
	return svc, nil
}

// escapeKey escapes each segment of an object key, keeping its slashes.
func escapeKey(key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}
