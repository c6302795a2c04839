package service

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"eventproc/adapters/dynamotable"
	"eventproc/adapters/sqsqueue"
	"eventproc/config"
	"eventproc/engine"
	"eventproc/worker"
)

// NewWorker wires the worker of `eventproc run`: the configured queues through
// sqsqueue, their dead-letter queues from their redrive policies, the tables through
// dynamotable, and eng (an *engine.Ruleset, or a worker.SwapEngine serving one) as the
// engine; opts adjust the worker's configuration last. The benchmark builds its worker
// here too.
func NewWorker(ctx context.Context, cfg *config.Config, eng worker.Engine, awsCfg aws.Config, log *slog.Logger, opts ...func(*worker.Config)) (*worker.Worker, error) {
	awsCfg = withConnectionPool(awsCfg, connectionPool(cfg))
	sqsAPI := sqsqueue.NewClient(awsCfg)
	ddbAPI := dynamotable.NewClient(awsCfg)
	var sources []worker.SourceConfig
	visibility := cfg.VisibilityTimeout
	for _, s := range cfg.Sources {
		url, err := sqsqueue.ResolveURL(ctx, sqsAPI, s.QueueURL, cfg.CallTimeout)
		if err != nil {
			return nil, err
		}
		if vt, err := sqsqueue.VisibilityTimeout(ctx, sqsAPI, url, cfg.CallTimeout); err != nil {
			log.Warn("cannot read the queue's visibility timeout; using the configured one",
				slog.String("queue", url), slog.String("error", err.Error()))
		} else if vt != visibility {
			// Extensions must come before the queue's own timeout ends: follow the queue.
			log.Warn("the queue's visibility timeout differs from visibility_timeout; extending at half the shorter",
				slog.String("queue", url), slog.Duration("queue_visibility", vt), slog.Duration("visibility_timeout", cfg.VisibilityTimeout))
			visibility = min(visibility, vt)
		}
		q := sqsqueue.New(sqsAPI, url, sqsqueue.Options{WaitTime: cfg.ReceiveWait, CallTimeout: cfg.CallTimeout,
			MessageAttributeNames: func() []string { return attributeNames(eng) }})
		sources = append(sources, worker.SourceConfig{Source: q, Pollers: s.Concurrency,
			Transport: engine.Transport(s.Transport), FIFO: sqsqueue.IsFIFO(url)})
	}
	mode := dynamotable.BatchUpsert
	if cfg.PersistMode == "conditional" {
		mode = dynamotable.ConditionalPut
	}
	sink := dynamotable.New(ddbAPI, dynamotable.Options{Mode: mode, CallTimeout: cfg.CallTimeout})
	wc := worker.Config{
		Engine:            eng,
		Sources:           sources,
		Sink:              sink,
		DeadLetter:        sqsqueue.NewDeadLetter(sqsAPI, sqsqueue.DeadLetterOptions{CallTimeout: cfg.CallTimeout}),
		Logger:            log,
		Workers:           cfg.Workers,
		MaxInFlight:       cfg.MaxInFlight,
		GracePeriod:       cfg.GracePeriod,
		VisibilityTimeout: visibility,
		ReceiveTimeout:    cfg.ReceiveWait + cfg.CallTimeout,
		CallTimeout:       cfg.CallTimeout,
		OutageWindow:      cfg.OutageWindow,
		OutageMinFailures: cfg.OutageMinFailures,
		OutageRatio:       float64(cfg.OutagePercent) / 100,
	}
	for _, o := range opts {
		o(&wc)
	}
	w, err := worker.New(wc)
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	return w, nil
}

// attributeNames lists the message attributes the rules in use read (see
// engine.Ruleset.MessageAttributeNames), asked for on every receive so that a reload
// that changes the rules changes them too; none for an engine that does not say.
func attributeNames(eng worker.Engine) []string {
	if s, ok := eng.(*worker.SwapEngine); ok {
		eng = s.Load()
	}
	if rs, ok := eng.(interface{ MessageAttributeNames() []string }); ok {
		return rs.MessageAttributeNames()
	}
	return nil
}

// connectionPool is how many idle connections per endpoint the worker of cfg keeps:
// four for each worker and each poller of every source.
func connectionPool(cfg *config.Config) int {
	pollers := 0
	for _, s := range cfg.Sources {
		pollers += s.Concurrency
	}
	return 4 * (cfg.Workers + pollers)
}

// withConnectionPool keeps up to idle connections per endpoint open: the worker makes
// many concurrent calls to one SQS and one DynamoDB endpoint, and the SDK's default of 10
// idle connections per host would close and reopen connections under load.
func withConnectionPool(c aws.Config, idle int) aws.Config {
	bc, ok := c.HTTPClient.(*awshttp.BuildableClient)
	if !ok {
		if c.HTTPClient != nil {
			return c // someone else's client: leave it
		}
		bc = awshttp.NewBuildableClient()
	}
	c.HTTPClient = bc.WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = max(t.MaxIdleConns, 2*idle)
		t.MaxIdleConnsPerHost = max(t.MaxIdleConnsPerHost, idle)
	})
	return c
}
