// Package service is the `eventproc run` process: it wires the configured queues and
// tables to the worker (wire.go), serves /healthz, /readyz and /metrics and probes the
// queues and tables (health.go), and reloads events.d on request (reload.go). The cli
// package starts it with Run; tests can start it the same way, without the binary.
package service

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"eventproc/adapters/awsclient"
	"eventproc/adapters/dynamotable"
	"eventproc/config"
	"eventproc/engine"
	"eventproc/metrics"
	"eventproc/worker"
)

// Options are what Run takes of the process besides its configuration.
type Options struct {
	// Getenv looks up the AWS settings' variables (AWS_REGION, AWS_ENDPOINT_URL_SQS, …);
	// nil: none are set.
	Getenv func(string) string
	// Reload: each value received reloads events.d (SIGHUP); nil: never.
	Reload <-chan os.Signal
}

// Run is `eventproc run` once its configuration is loaded: it loads events.d, serves
// /healthz, /readyz and /metrics on cfg.HTTPAddr, connects to the configured queues and
// tables, and runs the worker until ctx ends, then drains. Meanwhile it probes the
// queues and tables every cfg.ProbeInterval and reloads events.d on each receive from
// opts.Reload (see reloader). It logs everything to log, and returns nil after a drain
// (or when ctx ends before the worker starts), else the error that stopped it, already
// logged.
func Run(ctx context.Context, cfg *config.Config, log *slog.Logger, opts Options) error {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	rules, h, m, err := startRules(cfg, log)
	if err != nil {
		return err
	}

	// The endpoints answer while the worker connects: /readyz says why it is not ready.
	stopHTTP, err := serveHTTP(cfg.HTTPAddr, h, m, log)
	if err != nil {
		log.Error("http", slog.String("error", err.Error()))
		return err
	}
	defer stopHTTP()

	w, awsCfg, counter, err := connect(ctx, cfg, getenv, rules, m, log)
	if err != nil || w == nil {
		return err
	}
	h.worker.Store(w)
	stopBg := startBackground(ctx, cfg, awsCfg, rules, h, opts.Reload, log)
	defer stopBg()

	start := time.Now()
	if err := w.Run(ctx); err != nil {
		log.Error("worker", slog.String("error", err.Error()))
		return err
	}
	logSummary(log, w.Stats(), counter, time.Since(start))
	return nil
}

// startRules loads events.d and sets up what follows it: the metrics, the reloader
// that swaps the engine's rules, and the health that /readyz reports.
func startRules(cfg *config.Config, log *slog.Logger) (*reloader, *health, *metrics.Metrics, error) {
	rs, ok := logRules(log, cfg.Rules, cfg.Envelope)
	if !ok {
		return nil, nil, nil, errRules
	}
	m := metrics.New()
	m.SetRules(rs.Types(), time.Now())
	rules := &reloader{dir: cfg.Rules, envelope: cfg.Envelope, eng: worker.NewSwapEngine(rs), metrics: m, log: log}
	rules.cur.Store(rs)
	h := &health{probing: cfg.ProbeInterval > 0}
	h.rules.Store(true)
	return rules, h, m, nil
}

// connect loads the AWS configuration, counting its calls, and connects the worker to
// the configured queues and tables. A nil worker with a nil error: ctx ended before
// the worker started.
func connect(ctx context.Context, cfg *config.Config, getenv func(string) string, rules *reloader, m *metrics.Metrics, log *slog.Logger) (*worker.Worker, aws.Config, *awsclient.Counter, error) {
	awsCfg, err := awsclient.Load(ctx, getenv)
	if err != nil {
		log.Error("aws config", slog.String("error", err.Error()))
		return nil, awsCfg, nil, err
	}
	counter := &awsclient.Counter{}
	counter.Instrument(&awsCfg)
	m.WatchAWS(awsCounts(counter))
	w, err := NewWorker(ctx, cfg, rules.eng, awsCfg, log, func(c *worker.Config) { c.Observer = m })
	if err != nil {
		if ctx.Err() != nil {
			log.Info("stopped before starting")
			return nil, awsCfg, nil, nil
		}
		log.Error("setup", slog.String("error", err.Error()))
		return nil, awsCfg, nil, err
	}
	m.WatchWorker(w.Stats)
	db := dynamotable.NewClient(awsCfg)
	rules.checkTables = func(ctx context.Context, rs *engine.Ruleset) engine.Diagnostics {
		return TableDiagnostics(ctx, db, rs, cfg.Rules, cfg.CallTimeout)
	}
	return w, awsCfg, counter, nil
}

// startBackground starts the prober (when cfg.ProbeInterval is set) and the reloader's
// loop, which reloads events.d on each receive from reload. The returned stop ends
// both and waits for them.
func startBackground(ctx context.Context, cfg *config.Config, awsCfg aws.Config, rules *reloader, h *health, reload <-chan os.Signal, log *slog.Logger) (stop func()) {
	var bg sync.WaitGroup
	bgCtx, stopBg := context.WithCancel(ctx)
	if cfg.ProbeInterval > 0 {
		p := newProber(awsCfg, cfg, rules.tables, log)
		bg.Go(func() { p.run(bgCtx, cfg.ProbeInterval, h) })
	}
	bg.Go(func() {
		for {
			select {
			case <-bgCtx.Done():
				return
			case <-reload:
				rules.reload(bgCtx)
			}
		}
	})
	return func() {
		stopBg()
		bg.Wait()
	}
}

// errRules: the rules do not load (each diagnostic is logged).
var errRules = errors.New("rules do not load")

// logRules loads the rules for run, which writes nothing but its log: each error is a
// log record, and warnings one record that counts them (`eventproc check` lists them).
// It reports whether the rules loaded.
func logRules(log *slog.Logger, dir, envelope string) (*engine.Ruleset, bool) {
	rs, diags, err := engine.LoadDir(dir, engine.WithEnvelope(envelope))
	if err != nil {
		log.Error("rules do not load", slog.String("rules", dir), slog.String("error", err.Error()))
		return nil, false
	}
	errs, warns := diags.Count()
	if rs == nil || errs > 0 {
		for _, d := range diags {
			if d.Severity == engine.Error {
				log.Error("rules: diagnostic", slog.String("diagnostic", d.String()))
			}
		}
		log.Error("rules do not load", slog.String("rules", dir), slog.Int("errors", errs), slog.Int("warnings", warns))
		return nil, false
	}
	if warns > 0 {
		log.Warn("rules have warnings", slog.String("rules", dir), slog.Int("warnings", warns),
			slog.String("hint", "eventproc check --rules "+dir+" lists them"))
	}
	return rs, true
}

// awsCounts adapts the request counter to the metrics' AWS collector.
func awsCounts(c *awsclient.Counter) func() []metrics.AWSCount {
	return func() []metrics.AWSCount {
		snap := c.Snapshot()
		out := make([]metrics.AWSCount, 0, len(snap))
		for op, n := range snap {
			out = append(out, metrics.AWSCount{Service: op.Service, Operation: op.Operation, Requests: n.Requests, Errors: n.Errors})
		}
		return out
	}
}

// logSummary logs what the run did, with the AWS requests per operation.
func logSummary(log *slog.Logger, st worker.Stats, counter *awsclient.Counter, took time.Duration) {
	attrs := []any{slog.Duration("took", took), slog.Int64("received", st.Received)}
	outcomes := make([]string, 0, len(st.Outcomes))
	for o := range st.Outcomes {
		outcomes = append(outcomes, string(o))
	}
	sort.Strings(outcomes)
	for _, o := range outcomes {
		if n := st.Outcomes[worker.Outcome(o)]; n > 0 {
			attrs = append(attrs, slog.Int64(o, n))
		}
	}
	total := counter.Total()
	attrs = append(attrs, slog.Int64("aws_requests", total.Requests), slog.Int64("aws_errors", total.Errors))
	for _, op := range counter.Ops() {
		attrs = append(attrs, slog.Int64("aws."+op.Operation, counter.Snapshot()[op].Requests))
	}
	log.Info("stopped", attrs...)
}
