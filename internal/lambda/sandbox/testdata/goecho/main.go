// Command goecho is a Lambda function built with aws-lambda-go, as Go functions ship to AWS:
// it answers the test's operations (echo, error, sleep, print, env, exit).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Op    string `json:"op"`
	Ms    int    `json:"ms"`
	Bytes int    `json:"bytes"`
	Data  any    `json:"data"`
}

func handle(ctx context.Context, e event) (any, error) {
	switch e.Op {
	case "error":
		return nil, errors.New("boom from go")
	case "sleep":
		time.Sleep(time.Duration(e.Ms) * time.Millisecond)
		return "slept", nil
	case "print":
		fmt.Print(strings.Repeat("x", e.Bytes))
		fmt.Println()
		return "printed", nil
	case "exit":
		os.Exit(7)
	case "panic":
		panic("go panic")
	case "big":
		return strings.Repeat("y", e.Bytes), nil
	case "env":
		lc, _ := lambdacontext.FromContext(ctx)
		dl, _ := ctx.Deadline()
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		return map[string]any{
			"requestId":    lc.AwsRequestID,
			"arn":          lc.InvokedFunctionArn,
			"functionName": lambdacontext.FunctionName,
			"memory":       lambdacontext.MemoryLimitInMB,
			"deadlineMs":   dl.UnixMilli(),
			"env":          env,
			"cwd":          must(os.Getwd()),
		}, nil
	}
	fmt.Println("echo", e.Op)
	return e.Data, nil
}

func must(s string, _ error) string { return s }

func main() { lambda.Start(handle) }
