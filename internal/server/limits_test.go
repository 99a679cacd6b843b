package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/stepline/stepline/internal/limits"
	"github.com/stepline/stepline/internal/server"
	"github.com/stepline/stepline/internal/sigv4"
)

// stillServes checks the server answers /healthz and runs an execution to its end.
func stillServes(t *testing.T, b *bundle) {
	t.Helper()
	resp, err := http.Get(b.url + "/healthz")
	if err != nil {
		t.Fatalf("/healthz: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok\n" {
		t.Fatalf("/healthz = %d %q", resp.StatusCode, body)
	}
	arn := b.createMachine(t, fmt.Sprintf("after-%d", time.Now().UnixNano()), passChain)
	if out := b.waitDone(t, b.start(t, arn, "", `{}`)); out.Status != types.ExecutionStatusSucceeded {
		t.Fatalf("execution after the bound: %s", out.Status)
	}
}

func signedS3(url string, key, secret string) *s3.Client {
	return s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), UsePathStyle: true, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, "")})
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// TestConcurrencyBoundThrottles: with every request slot of a service taken, the next request
// gets that service's throttling error (Step Functions' ThrottlingException, S3's 503 SlowDown),
// other services and /healthz still answer, and once the slots free up all is served again.
func TestConcurrencyBoundThrottles(t *testing.T) {
	b := setup(t, server.Options{MaxConcurrentRequests: 2, ActivityPoll: 20 * time.Second})
	ctx := context.Background()
	act, err := b.client.CreateActivity(ctx, &sfn.CreateActivityInput{Name: aws.String("held")})
	if err != nil {
		t.Fatal(err)
	}
	// Two long polls hold Step Functions' two slots.
	pollCtx, stopPolls := context.WithCancel(ctx)
	var polls sync.WaitGroup
	for range 2 {
		polls.Add(1)
		go func() {
			defer polls.Done()
			// A poll that arrives while the loop below holds a slot is throttled itself:
			// poll again until the test is done with them.
			for pollCtx.Err() == nil {
				_, _ = b.client.GetActivityTask(pollCtx, &sfn.GetActivityTaskInput{ActivityArn: act.ActivityArn})
			}
		}()
	}
	// The polls reach the server soon; until then a request may still get a slot.
	var throttled error
	for start := time.Now(); throttled == nil; {
		if time.Since(start) > 30*time.Second {
			t.Fatal("ListStateMachines was never throttled while two polls held the service's two slots")
		}
		_, err := b.client.ListStateMachines(ctx, &sfn.ListStateMachinesInput{})
		if apiCode(err) == "ThrottlingException" {
			throttled = err
		} else if err != nil {
			t.Fatalf("ListStateMachines: %v", err)
		}
	}
	if !strings.Contains(throttled.Error(), "Rate exceeded") {
		t.Fatalf("throttled = %v", throttled)
	}

	// S3 has its own slots: two uploads whose bodies never end hold them.
	sc := signedS3(b.url, "AKIDEXAMPLE", "secret")
	if _, err := sc.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("held")}); err != nil {
		t.Fatal(err)
	}
	// An upload is holding its slot when the server answers nothing for a while; one that
	// came while another request held the slot was throttled, and is sent again.
	var uploads []net.Conn
	for i := range 2 {
		for {
			c, err := net.Dial("tcp", strings.TrimPrefix(b.url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			req := fmt.Sprintf("PUT /held/k%d HTTP/1.1\r\nHost: x\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00\r\n"+
				"X-Amz-Content-Sha256: UNSIGNED-PAYLOAD\r\nContent-Length: 1000000\r\n\r\npartial", i)
			if _, err := io.WriteString(c, req); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			var one [1]byte
			if _, err := c.Read(one[:]); errors.Is(err, os.ErrDeadlineExceeded) {
				_ = c.SetReadDeadline(time.Time{})
				uploads = append(uploads, c)
				break
			}
			c.Close()
		}
	}
	var slowDown error
	deadline := time.Now().Add(30 * time.Second)
	for slowDown == nil {
		if time.Now().After(deadline) {
			t.Fatal("ListObjectsV2 was never throttled while two uploads held S3's two slots")
		}
		_, err := sc.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("held")})
		if apiCode(err) == "SlowDown" {
			slowDown = err
		} else if err != nil {
			t.Fatalf("ListObjectsV2: %v", err)
		}
	}
	var he interface{ HTTPStatusCode() int }
	if !errors.As(slowDown, &he) || he.HTTPStatusCode() != http.StatusServiceUnavailable {
		t.Fatalf("SlowDown = %v", slowDown)
	}
	stopPolls()
	polls.Wait()
	for _, c := range uploads {
		c.Close()
	}
	// The slots come back as the requests end.
	for {
		_, err := sc.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("held")})
		if err == nil {
			break
		}
		if apiCode(err) != "SlowDown" {
			t.Fatalf("ListObjectsV2 after the uploads: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stillServes(t, b)
}

// TestStalledBodyIsCut: a client that stops sending its body loses the connection after the
// idle limit rather than holding it; one that keeps sending, however slowly, is served.
func TestStalledBodyIsCut(t *testing.T) {
	defer server.SetIdleLimits(300*time.Millisecond, time.Minute)()
	b := setup(t, server.Options{})
	c, err := net.Dial("tcp", strings.TrimPrefix(b.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	body := `{"name":"x"}`
	_, err = fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSStepFunctions.CreateActivity\r\n"+
		"Content-Type: application/x-amz-json-1.0\r\nContent-Length: %d\r\n\r\n%s", len(body)+10, body)
	if err != nil {
		t.Fatal(err)
	}
	// The server gives up on the body and closes the connection: the read ends (an error
	// answer, then EOF, or EOF at once).
	_, err = io.ReadAll(c)
	if err != nil && !errors.Is(err, io.EOF) {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("the connection is still open: %v", err)
		}
	}
	// A body sent slowly but steadily, each piece within the idle limit, is served.
	c2, err := net.Dial("tcp", strings.TrimPrefix(b.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	body = `{"name":"slow-but-steady"}`
	if _, err := fmt.Fprintf(c2, "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSStepFunctions.CreateActivity\r\n"+
		"Content-Type: application/x-amz-json-1.0\r\nContent-Length: %d\r\n\r\n", len(body)); err != nil {
		t.Fatal(err)
	}
	for i := range len(body) {
		if _, err := io.WriteString(c2, body[i:i+1]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // well within the idle limit: progress, not a stall
	}
	resp, err := http.ReadResponse(bufio.NewReader(c2), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(got), "activity:slow-but-steady") {
		t.Fatalf("slow body: %d %s", resp.StatusCode, got)
	}
	stillServes(t, b)
}

// patternReader yields n bytes of a repeating pattern.
type patternReader struct{ left, off int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	n := min(int64(len(b)), p.left)
	for i := range n {
		b[i] = byte((p.off + i) % 251)
	}
	p.left -= n
	p.off += n
	return int(n), nil
}

// TestSignedPutObjectStreamsToDisk: under --auth, a PutObject signed with its body's SHA-256
// (not UNSIGNED-PAYLOAD, not chunked) of more than the router would ever buffer is stored, the
// server's heap never holding more than a small part of it; a body that is not the one signed
// is refused with XAmzContentSHA256Mismatch and nothing stored.
func TestSignedPutObjectStreamsToDisk(t *testing.T) {
	const size = 192 << 20
	b := setup(t, server.Options{Auth: sigv4.Credentials{"AKIDEXAMPLE": "secret"}})
	ctx := context.Background()
	sc := signedS3(b.url, "AKIDEXAMPLE", "secret")
	if _, err := sc.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("big")}); err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	_, _ = io.Copy(h, &patternReader{left: size})
	sum := hex.EncodeToString(h.Sum(nil))

	put := func(key string, body io.Reader, hash string) *http.Response {
		req, err := http.NewRequest(http.MethodPut, b.url+"/big/"+key, body)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = size
		req.Header.Set("X-Amz-Content-Sha256", hash)
		if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"},
			req, hash, "s3", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	// Sample the heap while the upload runs.
	var peak atomic.Uint64
	var base runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&base)
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()
	resp := put("signed", &patternReader{left: size}, sum)
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	close(stop)
	<-sampled
	if resp.StatusCode != 200 {
		t.Fatalf("signed PutObject of %d MiB: %d %s", size>>20, resp.StatusCode, out)
	}
	if grew := int64(peak.Load()) - int64(base.HeapInuse); grew > 48<<20 {
		t.Fatalf("the heap grew by %d MiB during a %d MiB upload: the body was buffered", grew>>20, size>>20)
	}
	head, err := sc.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("big"), Key: aws.String("signed")})
	if err != nil || aws.ToInt64(head.ContentLength) != size {
		t.Fatalf("HeadObject = %+v, %v", head, err)
	}

	// The same signature over a different body: refused, and not stored.
	resp = put("tampered", io.MultiReader(strings.NewReader("X"), &patternReader{left: size - 1, off: 1}), sum)
	out, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !bytes.Contains(out, []byte("<Code>XAmzContentSHA256Mismatch</Code>")) {
		t.Fatalf("tampered body: %d %s", resp.StatusCode, out)
	}
	if _, err := sc.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("tampered"), Key: aws.String("tampered")}); err == nil {
		t.Fatal("the tampered body was stored")
	}
	stillServes(t, b)
}

const pyHog = `def handler(event, context):
    b = bytearray(event["mb"] * 1024 * 1024)
    for i in range(0, len(b), 4096):
        b[i] = 1
    return len(b)
`

// TestFunctionOverItsMemory: a function that goes over its MemorySize fails as Lambda reports
// it, through Invoke and through a Task state, and the server goes on serving.
func TestFunctionOverItsMemory(t *testing.T) {
	b := setup(t, server.Options{})
	lc := newLambdaClient(b.url)
	ctx := context.Background()
	createFunction(t, lc, "hog", lambdatypes.RuntimePython312, "app.handler", pyZip(t, pyHog)) // 128 MB, Lambda's default
	out, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("hog"), Payload: []byte(`{"mb":400}`)})
	if err != nil {
		t.Fatal(err)
	}
	var e struct{ ErrorType, ErrorMessage string }
	_ = json.Unmarshal(out.Payload, &e)
	if aws.ToString(out.FunctionError) != "Unhandled" || !strings.HasSuffix(e.ErrorMessage, "Error: Runtime exited with error: signal: killed") {
		t.Fatalf("Invoke over MemorySize = %s %s", aws.ToString(out.FunctionError), out.Payload)
	}
	if limits.Detect().Mechanism() != limits.RlimitData && e.ErrorType != "Runtime.OutOfMemory" {
		t.Fatalf("errorType = %q, want Runtime.OutOfMemory", e.ErrorType)
	}
	arn := b.createMachine(t, "hog-task", `{"StartAt":"H","States":{"H":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
		"Parameters":{"FunctionName":"hog","Payload":{"mb":400}},"End":true}}}`)
	d := b.waitDone(t, b.start(t, arn, "", `{}`))
	if d.Status != types.ExecutionStatusFailed || aws.ToString(d.Error) != e.ErrorType {
		t.Fatalf("execution = %s %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	stillServes(t, b)
}

// TestStalledReaderIsCut: a client that stops reading a large GetObject answer loses the
// connection after the write idle limit, instead of pinning the handler; the server serves on.
func TestStalledReaderIsCut(t *testing.T) {
	defer server.SetIdleLimits(time.Minute, 300*time.Millisecond)()
	const size = 64 << 20
	b := setup(t, server.Options{})
	ctx := context.Background()
	sc := signedS3(b.url, "AKIDEXAMPLE", "secret")
	if _, err := sc.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("big")}); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("big"), Key: aws.String("k"),
		Body: io.NewSectionReader(readerAt{}, 0, size)}); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", strings.TrimPrefix(b.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A presigned link: signed for S3, so routed there, with nothing else to send.
	pre, err := s3.NewPresignClient(sc).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("big"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	u, err := neturl.Parse(pre.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", u.RequestURI(), u.Host); err != nil {
		t.Fatal(err)
	}
	// The stall under test: the client reads nothing for several times the idle limit.
	time.Sleep(1500 * time.Millisecond)
	n, _ := io.Copy(io.Discard, c)
	if n >= size {
		t.Fatalf("the whole answer (%d bytes) arrived: the stalled connection was not cut", n)
	}
	stillServes(t, b)
}

// readerAt reads as zeros.
type readerAt struct{}

func (readerAt) ReadAt(p []byte, _ int64) (int, error) {
	clear(p)
	return len(p), nil
}

const pySleep = `import time

def handler(event, context):
    time.sleep(event.get("s", 0))
    return "slept"
`

// TestEventQueueBound: Event invocations beyond the queue's bound get Lambda's 429
// TooManyRequestsException, and the server serves on.
func TestEventQueueBound(t *testing.T) {
	b := setup(t, server.Options{MaxEventQueue: 1})
	lc := newLambdaClient(b.url)
	ctx := context.Background()
	createFunction(t, lc, "sleeper", lambdatypes.RuntimePython312, "app.handler", pyZip(t, pySleep))
	if out, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("sleeper"), InvocationType: lambdatypes.InvocationTypeEvent,
		Payload: []byte(`{"s":2}`)}); err != nil || out.StatusCode != 202 {
		t.Fatalf("first Event invocation: %+v %v", out, err)
	}
	_, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("sleeper"), InvocationType: lambdatypes.InvocationTypeEvent,
		Payload: []byte(`{}`)})
	var tm *lambdatypes.TooManyRequestsException
	var he interface{ HTTPStatusCode() int }
	if !errors.As(err, &tm) || !errors.As(err, &he) || he.HTTPStatusCode() != http.StatusTooManyRequests {
		t.Fatalf("Event invocation beyond the queue: %v", err)
	}
	stillServes(t, b)
}

// TestRuntimeAPIFlood: a function whose runtime floods the Runtime API with refused calls is
// stopped, its invocation failing as a runtime that exited, and the server serves on.
func TestRuntimeAPIFlood(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not on PATH")
	}
	bootstrap := "#!" + py + `
import http.client, os
host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
c = http.client.HTTPConnection(host, int(port))
c.request("GET", "/2018-06-01/runtime/invocation/next")
r = c.getresponse(); r.read()
while True:
    c.request("POST", "/2018-06-01/runtime/invocation/not-an-id/response", body=b"{}")
    c.getresponse().read()
`
	code, err := zipFile("bootstrap", []byte(bootstrap), 0o755)
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, server.Options{})
	lc := newLambdaClient(b.url)
	createFunction(t, lc, "flooder", lambdatypes.RuntimeProvidedal2023, "bootstrap", code)
	out, err := lc.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("flooder"), Payload: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	var e struct{ ErrorType, ErrorMessage string }
	_ = json.Unmarshal(out.Payload, &e)
	if aws.ToString(out.FunctionError) != "Unhandled" || e.ErrorType != "Runtime.ExitError" ||
		!strings.HasSuffix(e.ErrorMessage, "Error: Runtime exited with error: signal: killed") {
		t.Fatalf("flooding function = %s %s", aws.ToString(out.FunctionError), out.Payload)
	}
	stillServes(t, b)
}
