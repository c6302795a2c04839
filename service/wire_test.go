package service

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"eventproc/adapters/awsclient"
	"eventproc/config"
)

// TestConnectionPoolCountsEverySource: the HTTP connection pool has room for the
// pollers of every source, not as many per source as the first one has.
func TestConnectionPoolCountsEverySource(t *testing.T) {
	for _, tc := range []struct {
		name    string
		workers int
		sources []config.Source
		want    int
	}{
		{"one source", 4, []config.Source{{QueueURL: "a", Concurrency: 3}}, 4 * (4 + 3)},
		{"the first small", 4, []config.Source{{QueueURL: "a", Concurrency: 1}, {QueueURL: "b", Concurrency: 100}}, 4 * (4 + 101)},
		{"the first large", 2, []config.Source{{QueueURL: "a", Concurrency: 100}, {QueueURL: "b", Concurrency: 1}, {QueueURL: "c", Concurrency: 1}}, 4 * (2 + 102)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &config.Config{Workers: tc.workers, Sources: tc.sources}
			if got := connectionPool(cfg); got != tc.want {
				t.Errorf("connectionPool = %d, want %d", got, tc.want)
			}
			c := withConnectionPool(aws.Config{HTTPClient: awsclient.HTTPClient()}, connectionPool(cfg))
			tr := c.HTTPClient.(*awshttp.BuildableClient).GetTransport()
			if tr.MaxIdleConnsPerHost < tc.want || tr.MaxIdleConns < tc.want {
				t.Errorf("idle connections: %d per host, %d in all; want at least %d", tr.MaxIdleConnsPerHost, tr.MaxIdleConns, tc.want)
			}
		})
	}
}
