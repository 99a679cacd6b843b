package project

import (
	"context"
	"net"
	"net/url"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/smithy-go/logging"
)

// localCredentials sign requests to an endpoint on this machine when the environment has no
// credentials: moto, `sam local start-lambda` and the like accept any.
var localCredentials = aws.Credentials{AccessKeyID: "stepline", SecretAccessKey: "stepline", Source: "stepline"}

// endpointCredentials are what requests to an endpoint functions or buckets are bound to are
// signed with: the user's, found as the AWS CLI finds them in the server's environment
// (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN; else AWS_PROFILE's or the default
// profile of the shared config and credentials files, with SSO, assumed roles and credential
// processes; web identity; container and instance roles), never the project's. An endpoint on
// this machine is not asked about instance roles (a laptop would wait for the metadata service
// on every request) and, with no credentials found, gets a fixed pair.
func endpointCredentials(endpoint string) aws.CredentialsProvider {
	if id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		return credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN"))
	}
	local := isLocal(endpoint)
	opts := []func(*config.LoadOptions) error{config.WithLogger(logging.Nop{})}
	if local {
		opts = append(opts, config.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), opts...)
	switch {
	case err != nil && local:
		return credentials.StaticCredentialsProvider{Value: localCredentials}
	case err != nil:
		// A profile named but missing, a broken config file: each request says so.
		return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return aws.Credentials{}, err })
	case local:
		return orLocal{cfg.Credentials}
	}
	return cfg.Credentials
}

// orLocal is the chain's credentials, or the fixed pair when it has none.
type orLocal struct{ chain aws.CredentialsProvider }

func (o orLocal) Retrieve(ctx context.Context) (aws.Credentials, error) {
	if o.chain != nil {
		if c, err := o.chain.Retrieve(ctx); err == nil {
			return c, nil
		}
	}
	return localCredentials, nil
}

// isLocal tells whether an endpoint URL names this machine (a loopback address or localhost).
func isLocal(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
