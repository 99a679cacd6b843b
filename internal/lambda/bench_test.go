package lambda_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/stepline/stepline/internal/lambda"
)

var (
	goEchoOnce sync.Once
	goEchoZip  []byte
	goEchoErr  error
)

// goEcho is sandbox's test function (built with aws-lambda-go) zipped as a provided.al2023
// function, built once per test binary.
func goEcho(tb testing.TB) []byte {
	tb.Helper()
	goEchoOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lambda-goecho-")
		if err != nil {
			goEchoErr = err
			return
		}
		defer os.RemoveAll(dir)
		bin := filepath.Join(dir, "bootstrap")
		cmd := exec.Command("go", "build", "-o", bin, "./sandbox/testdata/goecho")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			goEchoErr = fmt.Errorf("go build: %w\n%s", err, out)
			return
		}
		b, err := os.ReadFile(bin)
		if err != nil {
			goEchoErr = err
			return
		}
		goEchoZip = zipOf(tb, file{name: "bootstrap", body: string(b), mode: 0o755})
	})
	if goEchoErr != nil {
		tb.Fatal(goEchoErr)
	}
	return goEchoZip
}

func createGoEcho(tb testing.TB, s *server, name string) {
	tb.Helper()
	if _, err := s.client.CreateFunction(tb.Context(), &awslambda.CreateFunctionInput{FunctionName: aws.String(name),
		Role: aws.String(role), Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Code: &types.FunctionCode{ZipFile: goEcho(tb)}}); err != nil {
		tb.Fatalf("CreateFunction: %v", err)
	}
}

// invokeRaw posts an Invoke as the SDKs do, without their signing and retry machinery, so that
// what is measured is the server's round trip.
func invokeRaw(tb testing.TB, c *http.Client, url string, payload []byte) {
	resp, err := c.Post(url, "application/json", bytes.NewReader(payload))
	if err != nil {
		tb.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("X-Amz-Function-Error") != "" {
		tb.Fatalf("Invoke = %d %s, %v", resp.StatusCode, body, err)
	}
}

func TestInvokeGo(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	createGoEcho(t, s, "goecho")
	out, err := s.client.Invoke(t.Context(), &awslambda.InvokeInput{FunctionName: aws.String("goecho"),
		Payload: []byte(`{"op":"echo","data":{"a":[1,2]}}`)})
	if err != nil || out.StatusCode != 200 || string(out.Payload) != `{"a":[1,2]}` {
		t.Fatalf("Invoke = %+v (%s), %v", out, out.Payload, err)
	}
	out, err = s.client.Invoke(t.Context(), &awslambda.InvokeInput{FunctionName: aws.String("goecho"), Payload: []byte(`{"op":"error"}`)})
	if err != nil || aws.ToString(out.FunctionError) != "Unhandled" || !bytes.Contains(out.Payload, []byte("boom from go")) {
		t.Fatalf("Invoke of an error = %+v (%s), %v", out, out.Payload, err)
	}
}

// BenchmarkInvokeWarm: one caller, a warm Go echo function, over loopback HTTP; reports the
// round trip's p50 and p99.
func BenchmarkInvokeWarm(b *testing.B) {
	benchInvoke(b, 1, createGoEcho)
}

// BenchmarkInvokeParallel20: twenty callers at once; ns/op is the inverse of the throughput.
func BenchmarkInvokeParallel20(b *testing.B) {
	benchInvoke(b, 20, createGoEcho)
}

// BenchmarkServiceInvoke20: twenty callers of Service.Invoke, as Task states call it: the
// same without HTTP.
func BenchmarkServiceInvoke20(b *testing.B) {
	benchInvoke(b, -20, createGoEcho)
}

// BenchmarkInvokePythonWarm and BenchmarkInvokePython20 are the first two with a Python
// function (which prints its event, as functions do).
func BenchmarkInvokePythonWarm(b *testing.B) { benchInvoke(b, 1, createPythonEcho) }
func BenchmarkInvokePython20(b *testing.B)   { benchInvoke(b, 20, createPythonEcho) }

func createPythonEcho(tb testing.TB, s *server, name string) { createPython(tb, s, name) }

// benchInvoke runs b.N invocations from |callers| goroutines of a function create makes: over
// HTTP, or through Service.Invoke when callers is negative.
func benchInvoke(b *testing.B, callers int, create func(testing.TB, *server, string)) {
	s := newServer(b)
	create(b, s, "echo")
	url := s.url + "/2015-03-31/functions/echo/invocations"
	payload := []byte(`{"op":"echo","data":{"hello":"world"}}`)
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: max(callers, 1)}}
	invoke := func() { invokeRaw(b, c, url, payload) }
	if callers < 0 {
		callers = -callers
		invoke = func() {
			res, err := s.svc.Invoke(context.Background(), &lambda.InvokeParams{FunctionName: "echo", Payload: payload})
			if err != nil || res.FunctionError != "" {
				b.Fatalf("Invoke = %+v, %v", res, err)
			}
		}
	}
	for range 4 * callers { // warm processes and connections
		invoke()
	}
	lat := make([][]time.Duration, callers)
	b.ResetTimer()
	var wg sync.WaitGroup
	per := b.N / callers
	for i := range callers {
		n := per
		if i == 0 {
			n += b.N % callers
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				t0 := time.Now()
				invoke()
				lat[i] = append(lat[i], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) > 0 {
		b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "invokes/s")
	}
}
