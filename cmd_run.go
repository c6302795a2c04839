package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"eventproc/adapters/awsclient"
	"eventproc/config"
	"eventproc/engine"
	"eventproc/metrics"
	"eventproc/worker"
)

// cmdRun is the worker: it consumes the configured queues until SIGTERM or SIGINT,
// then drains and exits 0; SIGHUP reloads events.d (reload.go). Exit 1: the rules or
// the AWS setup do not load; 2: usage or configuration errors.
func cmdRun(ctx context.Context, env *cmdEnv, args []string) int {
	// First of all, so that a SIGHUP during setup does not end the process (a reload
	// asked for then happens once the worker runs).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	fs := newFlagSet("run", env, configSynopsis()+"\n\nConsume SQS, validate against events.d, store in DynamoDB. Flags override\nEVENTPROC_* variables, which override the configuration file. SIGHUP reloads events.d.")
	loadConfig := configFlags(fs)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return unexpectedArg(env, fs)
	}
	cfg, err := loadConfig(env)
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc run: %v\n", err)
		var ce *config.Error
		if errors.As(err, &ce) {
			return 2
		}
		return 1
	}
	log := newLogger(env.stderr, cfg.LogLevel, cfg.LogFormat)

	rs, ok := logRules(log, cfg.Rules, cfg.Envelope)
	if !ok {
		return 1
	}
	m := metrics.New()
	m.SetRules(rs.Types(), time.Now())
	rules := &reloader{dir: cfg.Rules, envelope: cfg.Envelope, eng: worker.NewSwapEngine(rs), metrics: m, log: log}
	rules.cur.Store(rs)
	h := &health{probing: cfg.ProbeInterval > 0}
	h.rules.Store(true)

	// The endpoints answer while the worker connects: /readyz says why it is not ready.
	stopHTTP, err := serveHTTP(cfg.HTTPAddr, h, m, log)
	if err != nil {
		log.Error("http", slog.String("error", err.Error()))
		return 1
	}
	defer stopHTTP()

	awsCfg, err := awsclient.Load(ctx, env.getenv)
	if err != nil {
		log.Error("aws config", slog.String("error", err.Error()))
		return 1
	}
	counter := &awsclient.Counter{}
	counter.Instrument(&awsCfg)
	m.WatchAWS(awsCounts(counter))
	w, err := newWorker(ctx, cfg, rules.eng, awsCfg, log, func(c *worker.Config) { c.Observer = m })
	if err != nil {
		if ctx.Err() != nil {
			log.Info("stopped before starting")
			return 0
		}
		log.Error("setup", slog.String("error", err.Error()))
		return 1
	}
	m.WatchWorker(w.Stats)
	h.worker.Store(w)
	db := dynamodb.NewFromConfig(awsCfg)
	rules.checkTables = func(ctx context.Context, rs *engine.Ruleset) engine.Diagnostics {
		return tableDiagnostics(ctx, db, rs, cfg.Rules, cfg.CallTimeout)
	}

	var bg sync.WaitGroup
	bgCtx, stopBg := context.WithCancel(ctx)
	defer func() {
		stopBg()
		bg.Wait()
	}()
	if cfg.ProbeInterval > 0 {
		p := newProber(awsCfg, cfg, rules.tables, log)
		bg.Go(func() { p.run(bgCtx, cfg.ProbeInterval, h) })
	}
	bg.Go(func() {
		for {
			select {
			case <-bgCtx.Done():
				return
			case <-hup:
				rules.reload(bgCtx)
			}
		}
	})

	start := time.Now()
	if err := w.Run(ctx); err != nil {
		log.Error("worker", slog.String("error", err.Error()))
		return 1
	}
	logSummary(log, w.Stats(), counter, time.Since(start))
	return 0
}

// configSynopsis is the part of a usage line that lists the flags configFlags registers.
func configSynopsis() string {
	parts := []string{"[--config FILE]"}
	for _, k := range config.Keys() {
		parts = append(parts, "[--"+k.Flag+" "+strings.ToUpper(k.Arg)+"]")
	}
	return strings.Join(parts, " ")
}

// logRules loads the rules for run, which writes nothing but its log: each error is a
// log record, and warnings one record that counts them (`eventproc check` lists them).
// It reports whether the rules loaded.
func logRules(log *slog.Logger, dir, envelope string) (*engine.Ruleset, bool) {
	rs, diags, err := engine.LoadDir(dir, envelopeOpts(envelope)...)
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

// configFlags registers --config and one flag per configuration key (config.Keys) on fs,
// as `eventproc run` and `eventproc config` take them. After fs.Parse, load returns the
// configuration: defaults < file < EVENTPROC_* variables < the flags that were set;
// opts may adjust the input. Its error is a *config.Error for configuration problems,
// returned with the configuration as far as it could be read.
func configFlags(fs *flag.FlagSet) (load func(env *cmdEnv, opts ...func(*config.Input)) (*config.Config, error)) {
	file := fs.String("config", "", "configuration `file` (default: $"+config.EnvConfigFile+", else ./"+config.DefaultFile+" when present)")
	byFlag := map[string]string{}
	for _, k := range config.Keys() {
		usage := k.Usage + " [$" + k.Env + "=`" + k.Arg + "`]"
		if k.Default != "" {
			usage += " (default " + k.Default + ")"
		}
		fs.String(k.Flag, "", usage)
		byFlag[k.Flag] = k.Name
	}
	return func(env *cmdEnv, opts ...func(*config.Input)) (*config.Config, error) {
		set := map[string]string{}
		fs.Visit(func(f *flag.Flag) {
			if key, ok := byFlag[f.Name]; ok {
				set[key] = f.Value.String()
			}
		})
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		in := config.Input{File: *file, Dir: wd, Environ: env.environ, Flags: set}
		for _, o := range opts {
			o(&in)
		}
		return config.Load(in)
	}
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

// newLogger logs JSON, or text when format is "text" or "auto" on a terminal.
func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "text" || (format == "auto" && isTerminal(w)) {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
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
