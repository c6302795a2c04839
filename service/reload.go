package service

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"eventproc/engine"
	"eventproc/metrics"
	"eventproc/worker"
)

// reloader replaces the worker's rules on SIGHUP. The new events.d is loaded with the
// configured envelope and held to `eventproc check`'s standard — it compiles without
// error and its test suites pass — and every table it writes to exists and is
// keyed as its persistence mapping says (as `check --connect` checks them). Any problem keeps the rules in use and logs
// every diagnostic; otherwise the new rules serve every message started from then on
// (worker.SwapEngine: each message is evaluated and stored under one ruleset, its
// verdict carrying its item), so nothing is lost or handled twice. Any part of the
// rules may change, the envelope's body field included.
type reloader struct {
	dir, envelope string
	eng           *worker.SwapEngine
	metrics       *metrics.Metrics
	log           *slog.Logger
	// checkTables checks the live tables the new rules write to (TableDiagnostics);
	// nil: not checked.
	checkTables func(ctx context.Context, rs *engine.Ruleset) engine.Diagnostics

	mu  sync.Mutex // one reload at a time
	cur atomic.Pointer[engine.Ruleset]
}

// tables lists the tables of the rules in use (for the reachability probe).
func (r *reloader) tables() []string {
	var out []string
	seen := map[string]bool{}
	for _, t := range r.cur.Load().Tables() {
		if !seen[t.Name] {
			seen[t.Name] = true
			out = append(out, t.Name)
		}
	}
	return out
}

// reload loads, checks and, when it has no error, switches to the rules in r.dir. It
// reports whether the new rules are in use.
func (r *reloader) reload(ctx context.Context) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	start := time.Now()
	r.log.Info("rules reload requested (SIGHUP)", slog.String("rules", r.dir))
	rs, diags, err := engine.LoadDir(r.dir, engine.WithEnvelope(r.envelope))
	if err != nil {
		return r.failed(start, 1, 0, slog.String("error", err.Error()))
	}
	if rs != nil {
		failing, _ := rs.TestDiagnostics(ctx)
		for _, d := range failing {
			d.File = engine.DirPath(r.dir, d.File)
			diags = append(diags, d)
		}
		if r.checkTables != nil && !diags.HasErrors() {
			diags = append(diags, r.checkTables(ctx, rs)...)
		}
	}
	diags.Sort()
	errs, warns := diags.Count()
	for _, d := range diags {
		if d.Severity != engine.Error {
			continue // counted in the reload's record; eventproc check lists them
		}
		r.log.Error("rules reload: diagnostic", slog.String("diagnostic", d.String()))
	}
	if rs == nil || errs > 0 {
		return r.failed(start, errs, warns)
	}
	r.eng.Store(rs)
	r.cur.Store(rs)
	r.metrics.SetRules(rs.Types(), time.Now())
	r.metrics.Reloaded(true)
	versions := 0
	for _, t := range rs.Types() {
		versions += len(t.Versions)
	}
	r.log.Info("rules reloaded: new messages use them", slog.String("rules", r.dir), slog.Int("types", len(rs.Types())),
		slog.Int("versions", versions), slog.Int("warnings", warns), slog.Duration("took", time.Since(start)))
	return true
}

func (r *reloader) failed(start time.Time, errs, warns int, attrs ...any) bool {
	r.metrics.Reloaded(false)
	attrs = append(attrs, slog.String("rules", r.dir), slog.Int("errors", errs), slog.Int("warnings", warns),
		slog.Duration("took", time.Since(start)))
	r.log.Error("rules reload failed: keeping the rules in use", attrs...)
	return false
}
