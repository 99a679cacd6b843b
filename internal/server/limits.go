package server

import (
	"io"
	"net/http"
	"time"
)

// The serve port's connection bounds (variables for tests). http.Server's own ReadTimeout and WriteTimeout are whole-
// request limits, which would cut an S3 upload of gigabytes, a GetActivityTask long poll (60 s)
// or the console's live updates; instead the deadlines below extend with progress: a client
// may take as long as it likes as long as it keeps sending or reading, and one that stalls
// for the idle limit loses its connection.
var (
	// headerTimeout bounds the reading of a request's headers (http.Server.ReadHeaderTimeout).
	headerTimeout = 10 * time.Second
	// bodyIdle is how long a request body may go without a byte arriving.
	bodyIdle = 30 * time.Second
	// writeIdle is how long a response write may block on a client not reading.
	writeIdle = 60 * time.Second
	// connIdle bounds a keep-alive connection between requests (http.Server.IdleTimeout).
	connIdle = 2 * time.Minute
)

// defaultMaxConcurrent bounds the requests one service serves at once.
const defaultMaxConcurrent = 512

// deadlines sets the per-request read and write deadlines that extend with progress.
func deadlines(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
			_ = rc.SetReadDeadline(time.Now().Add(bodyIdle))
			r.Body = &progressBody{ReadCloser: r.Body, rc: rc}
		}
		pw := &progressWriter{ResponseWriter: w, rc: rc}
		next.ServeHTTP(pw, r)
		// What the server writes after the handler (its buffer, the last chunk) gets the same
		// allowance.
		_ = rc.SetWriteDeadline(time.Now().Add(writeIdle))
	})
}

// progressBody moves the connection's read deadline forward at each read of the body, and
// clears it at the body's end: after it the server reads the connection in the background to
// notice a client that goes away, and a deadline there would cancel a long poll.
type progressBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done bool
}

func (b *progressBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if b.done {
		return n, err
	}
	if err == io.EOF {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
		return n, err
	}
	if err != nil {
		// A stalled client (the deadline passed) or a broken body: the deadline stays, so
		// that the server's drain of the rest fails at once and the connection is closed.
		b.done = true
		return n, err
	}
	_ = b.rc.SetReadDeadline(time.Now().Add(bodyIdle))
	return n, err
}

// progressWriter moves the connection's write deadline forward before each write.
type progressWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
}

func (w *progressWriter) Write(p []byte) (int, error) {
	_ = w.rc.SetWriteDeadline(time.Now().Add(writeIdle))
	return w.ResponseWriter.Write(p)
}

func (w *progressWriter) Flush() {
	_ = w.rc.SetWriteDeadline(time.Now().Add(writeIdle))
	_ = w.rc.Flush()
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *progressWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// sendChunk is how much of a file one sendfile(2) call may send under one write deadline.
const sendChunk = 4 << 20

// ReadFrom keeps the response's sendfile(2) path for a file sent limited (S3's GetObject),
// chunk by chunk so that the deadline moves with progress. Other sources go through Write.
func (w *progressWriter) ReadFrom(src io.Reader) (int64, error) {
	rf, ok := w.ResponseWriter.(io.ReaderFrom)
	lr, limited := src.(*io.LimitedReader)
	if !ok || !limited {
		return io.Copy(struct{ io.Writer }{w}, src)
	}
	var total int64
	for lr.N > 0 {
		_ = w.rc.SetWriteDeadline(time.Now().Add(writeIdle))
		step := min(lr.N, sendChunk)
		n, err := rf.ReadFrom(&io.LimitedReader{R: lr.R, N: step})
		lr.N -= n
		total += n
		if err != nil || n < step {
			return total, err
		}
	}
	return total, nil
}

// enter takes one of the service's request slots; false when all are taken.
func (s *route) enter() bool {
	if s.slots == nil {
		return true
	}
	select {
	case s.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

func (s *route) leave() {
	if s.slots != nil {
		<-s.slots
	}
}

// limitConcurrency bounds each service to n requests at once (0: defaultMaxConcurrent,
// negative: no bound).
func (rt *router) limitConcurrency(n int) {
	if n < 0 {
		return
	}
	if n == 0 {
		n = defaultMaxConcurrent
	}
	for _, s := range rt.services {
		s.slots = make(chan struct{}, n)
	}
}

// throttle answers a request beyond its service's bound as AWS does when it throttles: the
// JSON services' ThrottlingException (400), Lambda's TooManyRequestsException (429), S3's
// SlowDown (503). The SDKs retry each of them with backoff.
func (rt *router) throttle(w http.ResponseWriter, r *http.Request, s *route) {
	e := apiError{code: "ThrottlingException", status: http.StatusBadRequest, message: "Rate exceeded"}
	switch s.protocol {
	case restJSON:
		e = apiError{code: "TooManyRequestsException", status: http.StatusTooManyRequests, message: "Rate exceeded"}
	case restXML:
		e = apiError{code: "SlowDown", status: http.StatusServiceUnavailable, message: "Please reduce your request rate."}
	}
	rt.log.Warn("request throttled: the service has all its request slots busy", "service", s.name,
		"limit", cap(s.slots), "method", r.Method, "path", r.URL.Path)
	// A body the client is still sending is not read: the connection is closed after the
	// answer, rather than held to drain it.
	if r.ContentLength != 0 {
		w.Header().Set("Connection", "close")
	}
	writeError(w, s.protocol, s.contentType, e)
}
