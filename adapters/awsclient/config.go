package awsclient

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Load returns the SDK's default configuration, as config.LoadDefaultConfig builds it
// from the process environment, shared config files and instance roles.
//
// getenv, when not nil, is the command's own environment (tests run commands with an
// environment of their own): the variables of it that the SDK reads from the process
// environment take precedence over the process's — AWS_REGION (or AWS_DEFAULT_REGION),
// AWS_PROFILE, AWS_ACCESS_KEY_ID with AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, and
// the endpoints AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL_SNS and AWS_ENDPOINT_URL_DYNAMODB.
// The HTTP client keeps more idle connections per host than the SDK's default (see
// HTTPClient). Extra options are applied last.
func Load(ctx context.Context, getenv func(string) string, opts ...func(*config.LoadOptions) error) (aws.Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var own []func(*config.LoadOptions) error
	if r := first(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION")); r != "" {
		own = append(own, config.WithRegion(r))
	}
	if p := getenv("AWS_PROFILE"); p != "" {
		own = append(own, config.WithSharedConfigProfile(p))
	}
	if id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		own = append(own, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN"))))
	}
	own = append(own, config.WithHTTPClient(HTTPClient()))
	cfg, err := config.LoadDefaultConfig(ctx, append(own, opts...)...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load aws config: %w", err)
	}
	eps := Endpoints{}
	for _, id := range []string{"SQS", "SNS", "DynamoDB"} {
		if v := getenv("AWS_ENDPOINT_URL_" + strings.ToUpper(id)); v != "" {
			eps[id] = v
		}
	}
	if len(eps) > 0 {
		// Ahead of the SDK's own sources, which read the process environment.
		cfg.ConfigSources = append([]any{eps}, cfg.ConfigSources...)
	}
	return cfg, nil
}

// HTTPClient is the SDK's default HTTP client with room for many idle connections per
// host: the worker keeps dozens of calls in flight to one endpoint, and the default of 10
// idle connections would close and reopen connections under load.
func HTTPClient() *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = 512
		t.MaxIdleConnsPerHost = 256
	})
}

func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// Endpoints maps an SDK service id ("SQS", "SNS", "DynamoDB") to its endpoint URL. Placed in an
// aws.Config's ConfigSources it acts as AWS_ENDPOINT_URL_<SERVICE> does.
type Endpoints map[string]string

// GetServiceBaseEndpoint returns the endpoint of the service sdkID.
func (e Endpoints) GetServiceBaseEndpoint(ctx context.Context, sdkID string) (string, bool, error) {
	v, ok := e[sdkID]
	return v, ok && v != "", nil
}
