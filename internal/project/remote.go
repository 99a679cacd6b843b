package project

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/stepline/stepline/internal/lambda"
	"github.com/stepline/stepline/internal/s3"
)

// Invoker invokes Lambda functions: *lambda.Service, and what Lambda returns (task.Lambda).
type Invoker interface {
	Invoke(ctx context.Context, p *lambda.InvokeParams) (*lambda.InvokeResult, error)
}

// S3Remotes returns the buckets the project binds to endpoints, as the S3 service takes them
// (nil for none, and for no project). region is the default region of those endpoints (the
// server's). Every node serving the project derives them from it, as it does the functions'
// endpoints: nothing about them is stored, so a changed binding holds at the next start.
func (p *Project) S3Remotes(region string) map[string]s3.Remote {
	if p == nil {
		return nil
	}
	var out map[string]s3.Remote
	for _, b := range p.Buckets {
		if b.Endpoint == "" {
			continue
		}
		if out == nil {
			out = map[string]s3.Remote{}
		}
		r := s3.Remote{Endpoint: b.Endpoint, Region: b.Region, Bucket: b.BucketName, Credentials: endpointCredentials(b.Endpoint)}
		if r.Region == "" {
			r.Region = region
		}
		out[b.Name] = r
	}
	return out
}

// Lambda returns the Invoker Task states call: local for every function but those the
// project binds to an endpoint, which are invoked there. region is the default region of
// those endpoints (the server's).
func (p *Project) Lambda(local Invoker, region string) Invoker {
	remotes := map[string]*remote{}
	for _, fn := range p.Functions {
		if fn.Endpoint != "" {
			remotes[fn.Name] = newRemote(fn, region)
		}
	}
	if len(remotes) == 0 {
		return local
	}
	return &router{local: local, remotes: remotes}
}

// router sends each invocation to the function's endpoint when the project binds it to one.
type router struct {
	local   Invoker
	remotes map[string]*remote
}

func (r *router) Invoke(ctx context.Context, p *lambda.InvokeParams) (*lambda.InvokeResult, error) {
	name, qualifier := splitFunctionName(p.FunctionName)
	if rm := r.remotes[name]; rm != nil {
		if p.Qualifier == "" {
			p2 := *p
			p2.Qualifier = qualifier
			p = &p2
		}
		return rm.Invoke(ctx, p)
	}
	return r.local.Invoke(ctx, p)
}

// splitFunctionName finds the name and qualifier in a function name, a partial ARN
// (ACCOUNT:function:NAME) or a full one, each optionally with ":QUALIFIER".
func splitFunctionName(s string) (name, qualifier string) {
	if i := strings.Index(s, ":function:"); i >= 0 {
		s = s[i+len(":function:"):]
	}
	name, qualifier, _ = strings.Cut(s, ":")
	return name, qualifier
}

// remote invokes one function through the Lambda Invoke API of an endpoint: AWS Lambda, or
// any server that speaks it (`sam local start-lambda`, another Stepline).
type remote struct {
	client *awslambda.Client
	name   string
}

func newRemote(fn *Function, region string) *remote {
	if fn.Region != "" {
		region = fn.Region
	}
	return &remote{
		client: awslambda.New(awslambda.Options{Region: region, Credentials: endpointCredentials(fn.Endpoint), BaseEndpoint: aws.String(fn.Endpoint)}),
		name:   fn.FunctionName,
	}
}

func (r *remote) Invoke(ctx context.Context, p *lambda.InvokeParams) (*lambda.InvokeResult, error) {
	in := &awslambda.InvokeInput{FunctionName: aws.String(r.name), Payload: p.Payload}
	if p.InvocationType != "" {
		in.InvocationType = types.InvocationType(p.InvocationType)
	}
	if p.Qualifier != "" {
		in.Qualifier = aws.String(p.Qualifier)
	}
	if p.ClientContext != "" {
		in.ClientContext = aws.String(p.ClientContext)
	}
	if p.LogType != "" {
		in.LogType = types.LogType(p.LogType)
	}
	out, err := r.client.Invoke(ctx, in)
	if err != nil {
		// Refusals keep their code, so that Task states record Lambda.<Code> as for a local
		// function; anything else (the endpoint unreachable) is a service failure.
		var ae smithy.APIError
		if errors.As(err, &ae) {
			le := &lambda.Error{Code: ae.ErrorCode(), Message: ae.ErrorMessage(), Status: http.StatusInternalServerError}
			var re *awshttp.ResponseError
			if errors.As(err, &re) {
				le.Status = re.HTTPStatusCode()
			}
			return nil, le
		}
		return nil, fmt.Errorf("project: invoking %s at its endpoint: %w", r.name, err)
	}
	res := &lambda.InvokeResult{StatusCode: int(out.StatusCode), Payload: out.Payload,
		FunctionError: aws.ToString(out.FunctionError), ExecutedVersion: aws.ToString(out.ExecutedVersion),
		LogResult: aws.ToString(out.LogResult)}
	res.RequestID, _ = awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	return res, nil
}

// checkBound asks a bound bucket's endpoint, through the S3 handler, whether the bucket is
// there, and warns when it is not: deploying does not create it (it is the endpoint's), and a
// mistake in the binding is better said at the start than at the first request.
func (p *Project) checkBound(ctx context.Context, h http.Handler, b *Bucket, log *slog.Logger) {
	rec := callS3(ctx, h, http.MethodHead, "/"+b.Name, nil, 0)
	var why string
	switch rec.Code {
	case http.StatusOK:
		log.Info("bucket bound to an endpoint", "bucket", b.Name, "endpoint", b.Endpoint, "name_there", b.BucketName)
		return
	case http.StatusNotFound:
		why = "it does not exist there (create it there)"
	case http.StatusForbidden, http.StatusUnauthorized:
		why = "the endpoint refuses the environment's credentials"
	case http.StatusServiceUnavailable:
		why = "the endpoint did not answer"
	default:
		why = fmt.Sprintf("HeadBucket answered HTTP %d", rec.Code)
	}
	log.Warn(p.errAt(b.line, "buckets."+b.Name, "bound to %s (bucket %s there), but %s", b.Endpoint, b.BucketName, why).Error())
}
