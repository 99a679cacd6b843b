package server_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	gluetypes "github.com/aws/aws-sdk-go-v2/service/glue/types"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/stepline/stepline/internal/server"
	"github.com/stepline/stepline/internal/sigv4"
)

func page(t *testing.T, u string) string {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, res.StatusCode, body)
	}
	return string(body)
}

// The console's function and catalog pages show what the Lambda and Glue services hold: a
// function's configuration and the logs of its runs, a task's link to its function, the
// catalog's databases, tables and columns.
func TestConsoleFunctionAndCatalogPages(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Python")
	}
	b := setup(t, server.Options{})
	ctx := context.Background()
	createFunction(t, newLambdaClient(b.url), "console-fn", lambdatypes.RuntimePython312, "app.handler", pyZip(t,
		"def handler(event, context):\n    print('hello from the console test')\n    return {'ok': True}\n"))
	m := b.createMachine(t, "calls-fn", `{"StartAt":"Call","States":{"Call":{"Type":"Task",
		"Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"console-fn","Payload.$":"$"},"End":true}}}`)
	arn := b.start(t, m, "with-fn", `{}`)
	if out := b.waitDone(t, arn); out.Status != "SUCCEEDED" {
		t.Fatalf("execution %s: %v", out.Status, aws.ToString(out.Cause))
	}
	body := page(t, b.url+"/executions/"+url.PathEscape(arn))
	if !strings.Contains(body, `"function":"console-fn"`) {
		t.Errorf("the execution page does not link the task to its function")
	}
	// The task's invocation: its request id leads to its own log lines.
	if m := regexp.MustCompile(`"requestId":"([0-9a-f-]+)"`).FindStringSubmatch(body); m == nil {
		t.Errorf("the execution page does not name the task's Lambda request")
	} else if inv := page(t, b.url+"/functions/console-fn?request="+m[1]); !strings.Contains(inv, `id="invocation-log">START RequestId: `+m[1]) ||
		!strings.Contains(inv, "hello from the console test") {
		t.Errorf("the invocation's log lines are not shown:\n%s", inv)
	}
	if body := page(t, b.url+"/functions"); !strings.Contains(body, `data-function="console-fn"`) {
		t.Errorf("the functions page does not list console-fn")
	}
	if body := page(t, b.url+"/functions/console-fn"); !strings.Contains(body, "app.handler") || !strings.Contains(body, "hello from the console test") {
		t.Errorf("the function page lacks its handler or its log:\n%s", body)
	}
	gc := glue.New(glue.Options{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(b.url), RetryMaxAttempts: 1})
	if _, err := gc.CreateDatabase(ctx, &glue.CreateDatabaseInput{DatabaseInput: &gluetypes.DatabaseInput{Name: aws.String("sales")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := gc.CreateTable(ctx, &glue.CreateTableInput{DatabaseName: aws.String("sales"), TableInput: &gluetypes.TableInput{
		Name: aws.String("orders"),
		StorageDescriptor: &gluetypes.StorageDescriptor{Location: aws.String("s3://raw/orders/"),
			Columns: []gluetypes.Column{{Name: aws.String("order_id"), Type: aws.String("bigint")}, {Name: aws.String("amount"), Type: aws.String("double")}}},
		PartitionKeys: []gluetypes.Column{{Name: aws.String("day"), Type: aws.String("string")}},
	}}); err != nil {
		t.Fatal(err)
	}
	if body := page(t, b.url+"/catalog"); !strings.Contains(body, `data-table="sales.orders"`) {
		t.Errorf("the catalog page does not list sales.orders")
	}
	body = page(t, b.url+"/catalog/sales/orders")
	for _, col := range []string{"order_id", "amount", "day"} {
		if !strings.Contains(body, `data-column="`+col+`"`) {
			t.Errorf("the table page lacks the column %s", col)
		}
	}
}

// The console answers unsigned browser requests on the API's port: GET / and an execution's
// page at /executions/{executionArn}, while POST / stays the Step Functions API.
func TestConsoleOnServePort(t *testing.T) {
	b := setup(t, server.Options{})
	m := b.createMachine(t, "console-machine", passChain)
	arn := b.start(t, m, "console-run", `{"x":1}`)
	b.waitDone(t, arn)
	for path, want := range map[string]string{
		"/":                                  "console-machine",
		"/executions/" + url.PathEscape(arn): `data-state="B"`,
	} {
		res, err := http.Get(b.url + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %d %s, want a page with %q", path, res.StatusCode, res.Header.Get("Content-Type"), want)
		}
	}
}

// With --auth, the console shows nothing to a browser without a session.
func TestConsoleNeedsLoginWithAuth(t *testing.T) {
	b := setup(t, server.Options{Auth: sigv4.Credentials{"AKIDEXAMPLE": "secret"}})
	res, err := http.Get(b.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET / without a session: %d, want 401", res.StatusCode)
	}
}
