package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"eventproc/adapters/dynamotable"
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
	sqs     sqsqueue.API
	ddb     dynamotable.API
	queues  []string // as configured: URLs or names
	urls    map[string]string
	tables  func() []string
	timeout time.Duration
	log     *slog.Logger
}

func newProber(awsCfg aws.Config, cfg *config.Config, tables func() []string, log *slog.Logger) *prober {
	p := &prober{sqs: sqsqueue.NewClient(awsCfg), ddb: dynamotable.NewClient(awsCfg), tables: tables,
		urls: map[string]string{}, timeout: cfg.CallTimeout, log: log}
	for _, s := range cfg.Sources {
		p.queues = append(p.queues, s.QueueURL)
	}
	return p
}

// run probes at once, then every interval until ctx ends, storing each result in h.
// It logs a failure when its cause changes (see probeLog), not every round.
func (p *prober) run(ctx context.Context, interval time.Duration, h *health) {
	t := time.NewTicker(interval)
	defer t.Stop()
	pl := &probeLog{log: p.log}
	for {
		err := p.check(ctx)
		if ctx.Err() != nil {
			return
		}
		h.probe.Store(&err)
		pl.observe(err)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// check asks every queue and table once. The error, a *probeError, lists each that
// did not answer.
func (p *prober) check(ctx context.Context) error {
	var pe probeError
	for _, q := range p.queues {
		if what, err := p.queue(ctx, q); err != nil {
			pe = append(pe, probeFailure{what, err})
		}
	}
	for _, t := range p.tables() {
		if err := dynamotable.Probe(ctx, p.ddb, t, p.timeout); err != nil {
			pe = append(pe, probeFailure{"table " + t, err})
		}
	}
	if len(pe) == 0 {
		return nil
	}
	return pe
}

// queue asks queue q (a name or URL) for an attribute; what names it for a failure.
func (p *prober) queue(ctx context.Context, q string) (what string, err error) {
	url, ok := p.urls[q]
	if !ok {
		u, err := sqsqueue.ResolveURL(ctx, p.sqs, q, p.timeout)
		if err != nil {
			return "queue " + q, err
		}
		url, p.urls[q] = u, u
	}
	return "queue " + url, sqsqueue.Probe(ctx, p.sqs, url, p.timeout)
}

// probeFailure is a queue or table ("queue URL", "table NAME") that did not answer.
type probeFailure struct {
	what string
	err  error
}

// probeError is a probe round's failures, in the order asked.
type probeError []probeFailure

func (e probeError) Error() string {
	parts := make([]string, len(e))
	for i, f := range e {
		parts[i] = f.what + ": " + f.err.Error()
	}
	return strings.Join(parts, "; ")
}

// cause is what stays the same while the same things fail the same way: each
// failure's queue or table and its errorCause, without request ids, times or ports.
func (e probeError) cause() string {
	parts := make([]string, len(e))
	for i, f := range e {
		parts[i] = f.what + ": " + errorCause(f.err)
	}
	return strings.Join(parts, "; ")
}

// errorCause classifies an AWS call's error by what the SDK says of it, not by its
// message (which carries a request id): the service and operation, then the API
// error code, else the HTTP status, else a timeout or the network error's errno, else
// the innermost error's message.
func errorCause(err error) string {
	var kind string
	var api smithy.APIError
	var resp *smithyhttp.ResponseError
	var errno syscall.Errno
	var dns *net.DNSError
	var netErr net.Error
	switch {
	case errors.As(err, &api):
		kind = api.ErrorCode()
	case errors.As(err, &resp):
		kind = fmt.Sprintf("HTTP %d", resp.HTTPStatusCode())
	case errors.Is(err, context.DeadlineExceeded):
		kind = "timeout"
	case errors.As(err, &errno):
		kind = errno.Error()
	case errors.As(err, &dns):
		kind = "dns: " + dns.Err
	case errors.As(err, &netErr) && netErr.Timeout():
		kind = "timeout"
	default:
		inner := err
		for u := errors.Unwrap(inner); u != nil; u = errors.Unwrap(inner) {
			inner = u
		}
		kind = inner.Error()
	}
	var op *smithy.OperationError
	if errors.As(err, &op) {
		return op.Service() + " " + op.Operation() + ": " + kind
	}
	return kind
}

// probeLog logs the probe's results when their cause changes: the first failure, a
// failure of another cause (another queue or table, another error code), and the
// recovery. A failure that repeats round after round is logged once.
type probeLog struct {
	log   *slog.Logger
	cause string // the last round's; "" when it succeeded (or before the first)
}

func (l *probeLog) observe(err error) {
	if err == nil {
		if l.cause != "" {
			l.log.Info("reachability probe: every queue and table answers again")
		}
		l.cause = ""
		return
	}
	cause := err.Error()
	if pe, ok := err.(probeError); ok {
		cause = pe.cause()
	}
	if cause != l.cause {
		l.log.Warn("reachability probe failed: not ready", slog.String("error", err.Error()), slog.String("cause", cause))
	}
	l.cause = cause
}
