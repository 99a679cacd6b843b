package task

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stepline/stepline/internal/asl/sferr"
	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/itemreader"
	"github.com/stepline/stepline/internal/jsonv"
)

// A distributed Map's ItemReader and ResultWriter run as tasks of the interpreter's own
// resources (interp.ReadItemsResource, interp.WriteResultsResource), through the S3 handler
// in-process like the aws-sdk:s3 tasks, so that a bucket bound to an external endpoint works
// the same. Bodies stream: a read asks for the object from the cursor's offset on and stops
// after a chunk; a write streams the result parts into one file.

// readChunkBytes bounds the JSON text of the items one read returns.
const readChunkBytes = 1 << 20

// readItems reads the next chunk of a Map's items: {"Reader", "Cursor", "Limit"} in,
// {"Items", "Cursor", "Done"} out; any failure is States.ItemReaderFailed.
func (r *Runner) readItems(ctx context.Context, t *engine.Task) (string, error) {
	fail := func(cause string) error { return &engine.TaskError{Name: sferr.ItemReaderFailed, Cause: cause} }
	if r.o.S3 == nil {
		return "", fail("S3 is not available to this runner: the ItemReader cannot read")
	}
	v, err := jsonv.ParseString(t.Parameters)
	o, _ := v.(*jsonv.Object)
	if err != nil || o == nil {
		return "", fail("the item reader's parameters are not a JSON object")
	}
	readerSpec, _ := o.Get("Reader")
	spec, err := itemreader.SpecOf(readerSpec)
	if err != nil {
		return "", fail(err.Error())
	}
	var cur itemreader.Cursor
	if c, ok := o.Get("Cursor"); ok && c != nil {
		if err := json.Unmarshal([]byte(jsonv.String(c)), &cur); err != nil {
			return "", fail("the item reader's cursor is not valid: " + err.Error())
		}
	}
	limit := 1000
	if n, ok := readNumber(o, "Limit"); ok && n > 0 {
		limit = int(n)
	}
	chunk, err := itemreader.Read(ctx, &s3Objects{r: r}, spec, cur, itemreader.Limits{Items: limit, Bytes: readChunkBytes})
	if err != nil {
		var re *itemreader.Error
		var te *engine.TaskError
		switch {
		case errors.As(err, &re):
			return "", fail(re.Cause)
		case errors.As(err, &te):
			return "", fail(te.Cause)
		case ctx.Err() != nil:
			return "", ctx.Err()
		}
		return "", fail(err.Error())
	}
	next, _ := json.Marshal(chunk.Next)
	out := make([]byte, 0, len(chunk.Items)+len(next)+40)
	out = append(out, `{"Items":`...)
	out = append(out, chunk.Items...)
	out = append(out, `,"Cursor":`...)
	out = append(out, next...)
	out = append(out, `,"Done":`...)
	out = strconv.AppendBool(out, chunk.Done)
	return string(append(out, '}')), nil
}

func readNumber(o *jsonv.Object, key string) (int64, bool) {
	v, _ := o.Get(key)
	n, ok := v.(jsonv.Number)
	if !ok {
		return 0, false
	}
	return n.Int64()
}

// s3Objects is itemreader.Objects over the S3 handler.
type s3Objects struct{ r *Runner }

func objectPath(bucket, key string) string {
	return "/" + url.PathEscape(bucket) + "/" + escapeKey(key)
}

func (o *s3Objects) Get(ctx context.Context, bucket, key string, offset int64) (io.ReadCloser, error) {
	h := http.Header{}
	if offset > 0 {
		h.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
	}
	res, err := o.r.s3Stream(ctx, http.MethodGet, objectPath(bucket, key), nil, h, nil, 0)
	if err != nil {
		var te *engine.TaskError
		if offset > 0 && errors.As(err, &te) && strings.HasPrefix(te.Name, "S3.InvalidRange") {
			return io.NopCloser(strings.NewReader("")), nil // the cursor is at the end
		}
		return nil, err
	}
	return res.Body, nil
}

func (o *s3Objects) ReadAt(ctx context.Context, bucket, key string, p []byte, off int64) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	h := http.Header{"Range": {fmt.Sprintf("bytes=%d-%d", off, off+int64(len(p))-1)}}
	res, err := o.r.s3Stream(ctx, http.MethodGet, objectPath(bucket, key), nil, h, nil, 0)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	n, err := io.ReadFull(res.Body, p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	return n, err
}

func (o *s3Objects) Size(ctx context.Context, bucket, key string) (int64, error) {
	res, err := o.r.s3Call(ctx, http.MethodHead, objectPath(bucket, key), url.Values{}, nil, nil)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(res.Header.Get("Content-Length"), 10, 64)
}

func (o *s3Objects) List(ctx context.Context, bucket, prefix, after string, max int) ([]itemreader.Object, bool, error) {
	q := url.Values{"list-type": {"2"}, "max-keys": {strconv.Itoa(max)}}
	if prefix != "" {
		q.Set("prefix", prefix)
	}
	if after != "" {
		q.Set("start-after", after)
	}
	res, err := o.r.s3Call(ctx, http.MethodGet, "/"+url.PathEscape(bucket), q, nil, nil)
	if err != nil {
		return nil, false, err
	}
	var doc struct {
		IsTruncated bool
		Contents    []struct {
			Key, LastModified, ETag, StorageClass string
			Size                                  int64
		}
	}
	if err := xml.Unmarshal(res.Body.Bytes(), &doc); err != nil {
		return nil, false, fmt.Errorf("the ListObjectsV2 answer could not be read: %w", err)
	}
	out := make([]itemreader.Object, 0, len(doc.Contents))
	for _, c := range doc.Contents {
		lm, _ := time.Parse(time.RFC3339Nano, c.LastModified)
		out = append(out, itemreader.Object{Key: c.Key, ETag: c.ETag, StorageClass: c.StorageClass, Size: c.Size, LastModified: lm})
	}
	return out, doc.IsTruncated, nil
}

// streamResponse is an S3 answer whose body is read as the handler writes it.
type streamResponse struct {
	Status int
	Header http.Header
	Body   io.ReadCloser
}

// pipeWriter is an http.ResponseWriter whose body goes into a pipe; the header is handed over
// at the first write (or when the handler returns).
type pipeWriter struct {
	header  http.Header
	status  int
	pw      *io.PipeWriter
	once    sync.Once
	started chan struct{}
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) WriteHeader(status int) {
	w.once.Do(func() {
		w.status = status
		close(w.started)
	})
}

func (w *pipeWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.pw.Write(p)
}

// s3Stream sends one request to the S3 handler and returns its answer as it streams; a refusal
// is the task error s3Call makes of it. body, if not nil, is the request's body of n bytes.
func (r *Runner) s3Stream(ctx context.Context, method, path string, q url.Values, h http.Header, body io.Reader, n int64) (*streamResponse, error) {
	if body == nil {
		body = http.NoBody
	}
	req := httptest.NewRequestWithContext(ctx, method, path, body)
	req.URL.RawQuery = q.Encode()
	req.RequestURI = req.URL.RequestURI()
	req.Host = "s3.amazonaws.com"
	req.ContentLength = n
	for k, vs := range h {
		req.Header[k] = vs
	}
	pr, pw := io.Pipe()
	w := &pipeWriter{header: http.Header{}, pw: pw, started: make(chan struct{})}
	go func() {
		defer func() {
			if p := recover(); p != nil {
				w.WriteHeader(http.StatusInternalServerError)
				pw.CloseWithError(fmt.Errorf("the S3 handler panicked: %v", p))
				return
			}
			w.WriteHeader(http.StatusOK)
			pw.Close()
		}()
		r.o.S3.ServeHTTP(w, req)
	}()
	select {
	case <-w.started:
	case <-ctx.Done():
		pr.CloseWithError(ctx.Err())
		return nil, ctx.Err()
	}
	if w.status < 300 {
		return &streamResponse{Status: w.status, Header: w.header, Body: pr}, nil
	}
	var buf bytes.Buffer
	_, _ = io.Copy(&buf, io.LimitReader(pr, 1<<20))
	pr.Close()
	return nil, s3Refusal(w.status, w.header, buf.Bytes())
}
