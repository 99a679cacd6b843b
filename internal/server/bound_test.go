package server_test

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stepline/stepline/internal/s3/s3test"
	"github.com/stepline/stepline/internal/server"
	"github.com/stepline/stepline/internal/sigv4"
)

// boundProject binds bucket lake to moto's lake-remote; read-lake gets an object of it with an
// aws-sdk:s3 task, then has a Python function read it and write another through boto3 with no
// endpoint argument (the function reaches Stepline through AWS_ENDPOINT_URL, which forwards).
const boundProject = `buckets:
  lake:
    endpoint: MOTO
    bucketName: lake-remote
functions:
  reader:
    code: reader
    runtime: python3.12
    handler: app.handler
    timeout: 30
stateMachines:
  read-lake:
    definition: read-lake.asl.json
`

const readLakeASL = `{"StartAt": "Get", "States": {
  "Get": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
          "Parameters": {"Bucket": "lake", "Key.$": "$.key"}, "ResultSelector": {"Body.$": "$.Body", "ETag.$": "$.ETag"},
          "ResultPath": "$.got", "Next": "Read"},
  "Read": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
           "Parameters": {"FunctionName": "reader", "Payload.$": "$"}, "OutputPath": "$.Payload", "End": true}}}`

const readerPy = `import json
import boto3

s3 = boto3.client("s3")


def handler(event, context):
    body = s3.get_object(Bucket="lake", Key=event["key"])["Body"].read()
    s3.put_object(Bucket="lake", Key="out/from-lambda.json", Body=body)
    return {"read": json.loads(body), "sfn": event["got"]["Body"]}
`

// TestBoundBucketThroughServer: a project's bucket bound to a real moto_server, read by a
// state machine's aws-sdk:s3:getObject task and by a Python function using boto3 unchanged.
func TestBoundBucketThroughServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs moto_server and a Python function")
	}
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		t.Skip("python3 with boto3 is needed for the function")
	}
	motoURL := s3test.StartMoto(t)
	ctx := context.Background()
	moto := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(motoURL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDMOTO", "moto", "")})
	if _, err := moto.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("lake-remote")}); err != nil {
		t.Fatal(err)
	}
	if _, err := moto.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("lake-remote"), Key: aws.String("in/data.json"),
		Body: strings.NewReader(`{"n": 42}`)}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string]string{
		"stepline.yaml":      strings.Replace(boundProject, "MOTO", motoURL, 1),
		"read-lake.asl.json": readLakeASL,
		"reader/app.py":      readerPy,
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Under --auth: the router checks the clients' signatures (Stepline's keys) before the
	// request is signed again for moto.
	b := setup(t, server.Options{Project: dir, Auth: sigv4.Credentials{"AKIDEXAMPLE": "secret"}})
	machine := smArn + "read-lake"

	out := b.waitDone(t, b.start(t, machine, "", `{"key": "in/data.json"}`))
	if out.Status != types.ExecutionStatusSucceeded {
		t.Fatalf("execution %s: %s %s", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause))
	}
	var got struct {
		Read struct{ N int }
		Sfn  string
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.Output)), &got); err != nil || got.Read.N != 42 || got.Sfn != `{"n": 42}` {
		t.Errorf("output %s (%v)", aws.ToString(out.Output), err)
	}
	// What the function wrote is in moto.
	res, err := moto.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("lake-remote"), Key: aws.String("out/from-lambda.json")})
	if err != nil {
		t.Fatalf("the function's object is not in moto: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != `{"n": 42}` {
		t.Errorf("moto holds %q", body)
	}
	// A client of Stepline, signing with Stepline's keys: a body signed with its SHA-256 (which
	// the router reads to check) and one signed UNSIGNED-PAYLOAD both land in moto.
	client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(b.url), UsePathStyle: true, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("lake"), Key: aws.String("client/seekable"),
		Body: strings.NewReader("seekable body")}); err != nil {
		t.Fatalf("PutObject through the router: %v", err)
	}
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("lake"), Key: aws.String("client/unsigned"),
		Body: strings.NewReader("unsigned body")}, s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)); err != nil {
		t.Fatalf("PutObject UNSIGNED-PAYLOAD through the router: %v", err)
	}
	for key, want := range map[string]string{"client/seekable": "seekable body", "client/unsigned": "unsigned body"} {
		res, err := moto.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("lake-remote"), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("%s is not in moto: %v", key, err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(got) != want {
			t.Errorf("moto holds %s = %q", key, got)
		}
	}
	bad := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(b.url), UsePathStyle: true, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wrong", "")})
	if _, err := bad.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("lake"), Key: aws.String("in/data.json")}); err == nil ||
		!strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Errorf("a wrong signature reached the bound bucket: %v", err)
	}

	// The endpoint's NoSuchKey is the task's S3.NoSuchKeyException, as on AWS.
	out = b.waitDone(t, b.start(t, machine, "", `{"key": "in/missing.json"}`))
	if out.Status != types.ExecutionStatusFailed || aws.ToString(out.Error) != "S3.NoSuchKeyException" {
		t.Errorf("a missing key: %s %s %s", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause))
	}
	hist, err := b.client.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: out.ExecutionArn})
	if err != nil {
		t.Fatal(err)
	}
	failed := false
	for _, e := range hist.Events {
		failed = failed || e.Type == types.HistoryEventTypeTaskFailed
	}
	if !failed {
		t.Error("no TaskFailed event for the missing key")
	}
}
