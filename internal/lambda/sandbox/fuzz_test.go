package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzRuntimeAPI feeds arbitrary HTTP requests to a process's Runtime API: no panic, every
// answer is AWS's shape, an invocation gets one answer at most, and whatever came before, the
// runtime can still answer its invocation (nothing wedged).
func FuzzRuntimeAPI(f *testing.F) {
	for _, seed := range []string{
		"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /2018-06-01/runtime/invocation/req-1/response HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
		"POST /2018-06-01/runtime/invocation/req-1/error HTTP/1.1\r\nHost: x\r\nLambda-Runtime-Function-Error-Type: X\r\nContent-Length: 3\r\n\r\nabc",
		"POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
		"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\nPOST /2018-06-01/runtime/invocation/req-1/response HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nnull",
		"PUT /2018-06-01/runtime/invocation//response HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /2018-06-01/runtime/invocation/req-1/error/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pr := newProc(nil, &Spec{Function: "fuzz", Arn: "arn:aws:lambda:us-east-1:123456789012:function:fuzz"}, 0)
		pr.invCh = make(chan *call, 1)
		c := &call{id: "req-1", payload: []byte(`{"k":1}`), deadlineMs: "1", done: make(chan outcome, 1)}
		pr.invCh <- c
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // a /next with no invocation to give returns at once
		br := bufio.NewReader(bytes.NewReader(data))
		for range 8 {
			req, err := http.ReadRequest(br)
			if err != nil {
				break
			}
			rec := httptest.NewRecorder()
			pr.ServeHTTP(rec, req.WithContext(ctx))
			checkAnswer(t, rec)
		}
		if len(c.done) > 1 {
			t.Fatal("an invocation got two answers")
		}
		// The runtime can still take its invocation and answer it, unless it already did.
		pr.mu.Lock()
		answered := c.answered
		pr.mu.Unlock()
		if !answered {
			if pr.cur != c {
				rec := httptest.NewRecorder()
				pr.ServeHTTP(rec, httptest.NewRequest("GET", "/2018-06-01/runtime/invocation/next", nil))
				if rec.Code != http.StatusOK || rec.Header().Get("Lambda-Runtime-Aws-Request-Id") != "req-1" {
					t.Fatalf("next after fuzz: %d %s", rec.Code, rec.Body)
				}
			}
			rec := httptest.NewRecorder()
			pr.ServeHTTP(rec, httptest.NewRequest("POST", "/2018-06-01/runtime/invocation/req-1/response", strings.NewReader(`"ok"`)))
			if rec.Code != http.StatusAccepted {
				t.Fatalf("response after fuzz: %d %s", rec.Code, rec.Body)
			}
			if o := <-c.done; string(o.body) != `"ok"` || o.isError {
				t.Fatalf("outcome %+v", o)
			}
		}
	})
}

func checkAnswer(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	switch rec.Code {
	case http.StatusOK:
		// The recorder says 200 also for a /next that gave up (its caller left) and wrote nothing.
		if rec.Header().Get("Lambda-Runtime-Aws-Request-Id") == "" && rec.Body.Len() > 0 {
			t.Fatalf("200 without a request id: %q", rec.Body)
		}
		return
	case http.StatusAccepted:
		if rec.Body.String() != "{\"status\":\"OK\"}\n" {
			t.Fatalf("202 body %q", rec.Body)
		}
		return
	case http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusRequestEntityTooLarge:
	default:
		t.Fatalf("status %d", rec.Code)
	}
	var e struct{ ErrorMessage, ErrorType string }
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.ErrorType == "" || e.ErrorMessage == "" {
		t.Fatalf("error body %q: %v", rec.Body, err)
	}
}
