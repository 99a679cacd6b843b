package task

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/s3"
)

// TestSdkS3 runs the aws-sdk:s3 actions in order against a real S3 service: each step's
// output (with dates and request ids masked) or error name and cause.
func TestSdkS3(t *testing.T) {
	svc, err := s3.New(s3.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	r := New(Options{S3: svc})
	dates := regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`)
	ids := regexp.MustCompile(`Request ID: [^,)]+`)
	for _, step := range []struct {
		action, params string
		want           string // exact output with dates as DATE, or the error name
		wantCause      string // the cause, request ids as ID
	}{
		{action: "createBucket", params: `{"Bucket":"bkt"}`, want: `{"Location":"/bkt"}`},
		{action: "putObject", params: `{"Bucket":"bkt","Key":"dir/x.txt","Body":"text data","Metadata":{"who":"me"}}`,
			// "text data" with its quotes, as the corpus's put_object cases record.
			want: `{"ChecksumCRC32":"KUmHvQ==","ChecksumType":"FULL_OBJECT","ETag":"\"2b5df3712557f503a9977a8ea893b2c9\"","ServerSideEncryption":"AES256"}`},
		{action: "getObject", params: `{"Bucket":"bkt","Key":"dir/x.txt"}`,
			want: `{"AcceptRanges":"bytes","ContentLength":11,"ContentType":"binary/octet-stream","ETag":"\"2b5df3712557f503a9977a8ea893b2c9\"","LastModified":"DATE","Metadata":{"who":"me"},"ServerSideEncryption":"AES256","Body":"\"text data\""}`},
		{action: "headObject", params: `{"Bucket":"bkt","Key":"dir/x.txt"}`,
			want: `{"AcceptRanges":"bytes","ContentLength":11,"ContentType":"binary/octet-stream","ETag":"\"2b5df3712557f503a9977a8ea893b2c9\"","LastModified":"DATE","Metadata":{"who":"me"},"ServerSideEncryption":"AES256"}`},
		{action: "copyObject", params: `{"Bucket":"bkt","Key":"y.txt","CopySource":"bkt/dir/x.txt"}`,
			want: `{"CopyObjectResult":{"ETag":"\"2b5df3712557f503a9977a8ea893b2c9\"","LastModified":"DATE"},"ServerSideEncryption":"AES256"}`},
		{action: "listObjectsV2", params: `{"Bucket":"bkt","Delimiter":"/"}`,
			want: `{"CommonPrefixes":[{"Prefix":"dir/"}],"Contents":[{"ETag":"\"2b5df3712557f503a9977a8ea893b2c9\"","Key":"y.txt","LastModified":"DATE","Size":11,"StorageClass":"STANDARD"}],"Delimiter":"/","IsTruncated":false,"KeyCount":2,"MaxKeys":1000,"Name":"bkt","Prefix":""}`},
		{action: "listBuckets", params: `{}`, want: `^\{"Buckets":\[\{"CreationDate":"DATE","Name":"bkt"\}\],"Owner":\{.*\}\}$`},
		{action: "deleteObject", params: `{"Bucket":"bkt","Key":"y.txt"}`, want: `{}`},
		{action: "getObject", params: `{"Bucket":"bkt","Key":"y.txt"}`, want: "S3.NoSuchKeyException",
			wantCause: "The specified key does not exist. (Service: S3, Status Code: 404, Request ID: ID, Extended Request ID: ID)"},
		{action: "listObjectsV2", params: `{"Bucket":"nobucket"}`, want: "S3.NoSuchBucketException",
			wantCause: "The specified bucket does not exist (Service: S3, Status Code: 404, Request ID: ID, Extended Request ID: ID)"},
		{action: "deleteBucket", params: `{"Bucket":"bkt"}`, want: "S3.BucketNotEmptyException"},
		{action: "getObject", params: `{"Bucket":"bkt"}`, want: "States.Runtime", wantCause: "The field Key is required"},
		{action: "selectObjectContent", params: `{"Bucket":"bkt"}`, want: "States.TaskFailed",
			wantCause: "The action selectObjectContent of aws-sdk:s3 is not supported by Stepline yet"},
	} {
		out, err := r.Run(context.Background(), &engine.Task{Resource: "arn:aws:states:::aws-sdk:s3:" + step.action, Parameters: step.params})
		var te *engine.TaskError
		switch {
		case errors.As(err, &te):
			if te.Name != step.want || step.wantCause != "" && ids.ReplaceAllString(te.Cause, "Request ID: ID") != step.wantCause {
				t.Errorf("%s %s: error %s %q, want %s %q", step.action, step.params, te.Name, te.Cause, step.want, step.wantCause)
			}
		case err != nil:
			t.Errorf("%s %s: %v", step.action, step.params, err)
		default:
			got := dates.ReplaceAllString(out, "DATE")
			if strings.HasPrefix(step.want, "^") {
				if !regexp.MustCompile(step.want).MatchString(got) {
					t.Errorf("%s %s:\n got %s\nwant %s", step.action, step.params, got, step.want)
				}
			} else if got != step.want {
				t.Errorf("%s %s:\n got %s\nwant %s", step.action, step.params, got, step.want)
			}
		}
	}
}

// TestSdkS3DataLimit: an object larger than a task's result can be fails the task as AWS
// fails it, without the runner holding more of it than the limit.
func TestSdkS3DataLimit(t *testing.T) {
	svc, err := s3.New(s3.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	for _, path := range []string{"/bkt", "/bkt/big"} {
		body := ""
		if path != "/bkt" {
			body = strings.Repeat("a", 300*1024)
		}
		rec := httptest.NewRecorder()
		svc.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, path, strings.NewReader(body)))
		if rec.Code != http.StatusOK {
			t.Fatalf("PUT %s: %d", path, rec.Code)
		}
	}
	_, err = New(Options{S3: svc}).Run(context.Background(), &engine.Task{Resource: "arn:aws:states:::aws-sdk:s3:getObject", Parameters: `{"Bucket":"bkt","Key":"big"}`})
	var te *engine.TaskError
	if !errors.As(err, &te) || te.Name != "States.DataLimitExceeded" {
		t.Fatalf("got %v, want States.DataLimitExceeded", err)
	}
}
