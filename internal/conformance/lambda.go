package conformance

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/stepline/stepline/internal/jsonv"
	"github.com/stepline/stepline/internal/lambda"
	"github.com/stepline/stepline/internal/store/dsn"
)

// Function is a Lambda function a case created before its execution: the name it was recorded
// with (so that ARNs normalise to the recorded placeholders), its runtime, and the handler file
// the corpus names, which testdata/lambda holds written anew.
type Function struct {
	Name    string
	Runtime string
	Handler string // the corpus's handler_file, e.g. …/lambdafunctions/id_function.py
}

// functions lists the Lambda functions c's context says the test created.
func functions(c *Case) []Function {
	res, _ := get(c.Context, "resources").([]jsonv.Value)
	var fns []Function
	for _, r := range res {
		o, _ := r.(*jsonv.Object)
		if str(o, "kind") == "lambda" {
			fns = append(fns, Function{Name: str(o, "name"), Runtime: str(o, "runtime"), Handler: str(o, "handler_file")})
		}
	}
	return fns
}

// lambdaWorld is a Lambda service of its own for one execution: function names repeat across
// cases with other handlers, so each run creates its functions, through the Lambda API as the
// recorded tests did, in a store and a data folder of its own.
type lambdaWorld struct {
	svc    *lambda.Service
	closer func() error
}

// newLambdaWorld creates fns in a fresh Lambda service under dir, with the handlers in handlers.
func newLambdaWorld(ctx context.Context, dir, handlers string, fns []Function) (*lambdaWorld, error) {
	st, err := dsn.Open(ctx, "sqlite:"+filepath.Join(dir, "lambda.db"))
	if err != nil {
		return nil, err
	}
	svc, err := lambda.New(lambda.Options{Store: st, Account: Account, Region: Region, DataDir: filepath.Join(dir, "data")})
	if err != nil {
		return nil, errors.Join(err, st.Close())
	}
	w := &lambdaWorld{svc: svc, closer: func() error { return errors.Join(svc.Close(), st.Close()) }}
	for _, fn := range fns {
		if err := w.create(handlers, fn); err != nil {
			return nil, errors.Join(err, w.closer())
		}
	}
	return w, nil
}

// testTimeout is the Timeout LocalStack's test helper gives every function it creates
// (LAMBDA_TIMEOUT_SEC): AWS's recordings of a task timing out at TimeoutSeconds 5 on a function
// that sleeps a minute depend on it.
const testTimeout = 30

// create deploys fn as the tests did: the handler file as handler.py, handler handler.handler
// (the recorded stack traces name /var/task/handler.py), a timeout of testTimeout.
func (w *lambdaWorld) create(handlers string, fn Function) error {
	src, err := os.ReadFile(filepath.Join(handlers, filepath.Base(fn.Handler)))
	if err != nil {
		return fmt.Errorf("handler of %s: %w", fn.Name, err)
	}
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	f, err := z.Create("handler.py")
	if err == nil {
		_, err = f.Write(src)
	}
	if err := errors.Join(err, z.Close()); err != nil {
		return fmt.Errorf("zipping %s: %w", fn.Name, err)
	}
	body, err := json.Marshal(map[string]any{
		"FunctionName": fn.Name, "Runtime": fn.Runtime, "Handler": "handler.handler",
		"Role": "arn:aws:iam::" + Account + ":role/lambda", "Code": map[string]any{"ZipFile": buf.Bytes()}, "Timeout": testTimeout,
	})
	if err != nil {
		return err
	}
	req := httptest.NewRequest(http.MethodPost, "/2015-03-31/functions", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	w.svc.ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		return fmt.Errorf("CreateFunction %s: %d %s", fn.Name, rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	return nil
}
