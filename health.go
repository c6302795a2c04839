package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"eventproc/adapters/sqsqueue"
	"eventproc/config"
	"eventproc/metrics"
	"eventproc/worker"
)

// health is what /readyz reports, filled in as `eventproc run` starts. Safe for
// concurrent use.
type health struct {
	probing bool // a reachability probe runs (http.probe_interval > 0)

	rules  atomic.Bool                   // events.d is loaded and compiled
	worker atomic.Pointer[worker.Worker] // set once the worker is built
	probe  atomic.Pointer[error]         // the last probe's result; nil before the first
}

// ready says why the process is not ready, or nil when it is: events.d loaded and
// compiled; the worker built, running and not draining, its intake not paused by a
// deployment error and no queue refusing receives (worker.Ready); and the last
// reachability probe answered by every queue and table.
func (h *health) ready() error {
	if !h.rules.Load() {
		return errors.New("rules not loaded")
	}
	w := h.worker.Load()
	if w == nil {
		return errors.New("starting: connecting to the queues")
	}
	if err := w.Ready(); err != nil {
		return err
	}
	if h.probing {
		p := h.probe.Load()
		if p == nil {
			return errors.New("checking the queues and tables")
		}
		if *p != nil {
			return *p
		}
	}
	return nil
}

// serveHTTP serves /healthz (alive: 200 as long as the process runs), /readyz (200
// "ready", or 503 "not ready: WHY") and /metrics on addr; "" serves nothing. The
// returned func stops the server.
func serveHTTP(addr string, h *health, m *metrics.Metrics, log *slog.Logger) (func(), error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: httpHandler(h, m), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server", slog.String("error", err.Error()))
		}
	}()
	log.Info("health endpoints", slog.String("addr", ln.Addr().String()))
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// httpHandler routes /healthz, /readyz and /metrics.
func httpHandler(h *health, m *metrics.Metrics) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) { fmt.Fprintln(rw, "ok") })
	mux.HandleFunc("GET /readyz", func(rw http.ResponseWriter, _ *http.Request) {
		if err := h.ready(); err != nil {
			http.Error(rw, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(rw, "ready")
	})
	mux.Handle("GET /metrics", m.Handler())
	return mux
}

// prober checks, every http.probe_interval, that every configured queue answers
// GetQueueAttributes and every table of the rules in use answers DescribeTable, so that
// /readyz fails when one is unreachable, missing or forbidden even while no message
// flows. A few requests a minute; they are counted with the others.
type prober struct {
	sqs     *sqs.Client
	ddb     *dynamodb.Client
	queues  []string // as configured: URLs or names
	urls    map[string]string
	tables  func() []string
	timeout time.Duration
	log     *slog.Logger
}

func newProber(awsCfg aws.Config, cfg *config.Config, tables func() []string, log *slog.Logger) *prober {
	p := &prober{sqs: sqs.NewFromConfig(awsCfg), ddb: dynamodb.NewFromConfig(awsCfg), tables: tables,
		urls: map[string]string{}, timeout: cfg.CallTimeout, log: log}
	for _, s := range cfg.Sources {
		p.queues = append(p.queues, s.QueueURL)
	}
	return p
}

// run probes at once, then every interval until ctx ends, storing each result in h and
// logging when it changes.
func (p *prober) run(ctx context.Context, interval time.Duration, h *health) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var last error
	first := true
	for {
		err := p.check(ctx)
		if ctx.Err() != nil {
			return
		}
		h.probe.Store(&err)
		switch {
		case err != nil && (first || last == nil || err.Error() != last.Error()):
			p.log.Warn("reachability probe failed: not ready", slog.String("error", err.Error()))
		case err == nil && last != nil:
			p.log.Info("reachability probe: every queue and table answers again")
		}
		last, first = err, false
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// check asks every queue and table once; the error lists each that did not answer.
func (p *prober) check(ctx context.Context) error {
	var errs []string
	for _, q := range p.queues {
		if err := p.queue(ctx, q); err != nil {
			errs = append(errs, err.Error())
		}
	}
	for _, t := range p.tables() {
		cctx, cancel := context.WithTimeout(ctx, p.timeout)
		_, err := p.ddb.DescribeTable(cctx, &dynamodb.DescribeTableInput{TableName: aws.String(t)})
		cancel()
		if err != nil {
			errs = append(errs, fmt.Sprintf("table %s: %v", t, err))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errors.New(strings.Join(errs, "; "))
}

func (p *prober) queue(ctx context.Context, q string) error {
	url, ok := p.urls[q]
	if !ok {
		u, err := sqsqueue.ResolveURL(ctx, p.sqs, q, p.timeout)
		if err != nil {
			return fmt.Errorf("queue %s: %w", q, err)
		}
		url, p.urls[q] = u, u
	}
	cctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	_, err := p.sqs.GetQueueAttributes(cctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameVisibilityTimeout}})
	if err != nil {
		return fmt.Errorf("queue %s: %w", url, err)
	}
	return nil
}
