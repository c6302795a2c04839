package service

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"eventproc/adapters/awsclient"
	"eventproc/adapters/awstest"
	"eventproc/config"
	"eventproc/engine"
	"eventproc/worker"
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

// namedEngine is an engine whose rules read the message attributes it names.
type namedEngine struct {
	worker.Engine
	names []string
}

func (e namedEngine) MessageAttributeNames() []string { return e.names }

// TestAttributeNamesFollowTheRules: the message attributes asked for are those of the
// rules in use, read at each call, so that a reload changes them; an engine that does
// not say gets none.
func TestAttributeNamesFollowTheRules(t *testing.T) {
	swap := worker.NewSwapEngine(namedEngine{names: []string{"tenant"}})
	if got := attributeNames(swap); !slices.Equal(got, []string{"tenant"}) {
		t.Errorf("names = %v, want [tenant]", got)
	}
	swap.Store(namedEngine{names: []string{"All"}})
	if got := attributeNames(swap); !slices.Equal(got, []string{"All"}) {
		t.Errorf("after a reload names = %v, want [All]", got)
	}
	rs, _, err := engine.LoadDir("events.d")
	if err != nil || rs == nil {
		t.Fatalf("events.d does not load: %v", err)
	}
	if got := attributeNames(rs); !slices.Equal(got, rs.MessageAttributeNames()) {
		t.Errorf("names of a ruleset = %v, want its own %v", got, rs.MessageAttributeNames())
	}
	if got := attributeNames(struct{ worker.Engine }{}); got != nil {
		t.Errorf("names of an engine that does not say = %v", got)
	}
}

// TestOutageConfigReachesTheWorker: the outage keys reach the worker's configuration,
// failure_percent as a ratio.
func TestOutageConfigReachesTheWorker(t *testing.T) {
	e := awstest.Shared(t)
	q := e.CreateQueue(t, "wire", nil)
	cfg, err := config.Load(config.Input{Flags: map[string]string{"queue_url": q.URL, "outage.window": "45s",
		"outage.min_failures": "7", "outage.failure_percent": "65"}})
	if err != nil {
		t.Fatal(err)
	}
	var got worker.Config
	_, err = NewWorker(context.Background(), cfg, fixedEngine{}, e.Config, slog.New(slog.DiscardHandler),
		func(c *worker.Config) { got = *c })
	if err != nil {
		t.Fatal(err)
	}
	if got.OutageWindow != 45*time.Second || got.OutageMinFailures != 7 || got.OutageRatio != 0.65 {
		t.Errorf("worker outage config = %v, %d, %v; want 45s, 7, 0.65", got.OutageWindow, got.OutageMinFailures, got.OutageRatio)
	}
}

// fixedEngine judges every message valid without a target; never called here.
type fixedEngine struct{}

func (fixedEngine) Evaluate(context.Context, string, ...engine.EvalOption) *engine.Verdict {
	return &engine.Verdict{Outcome: engine.Valid}
}
