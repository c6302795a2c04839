package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"time"

	"eventproc/adapters/awsclient"
	"eventproc/config"
	"eventproc/worker"
)

// cmdRun is the worker: it consumes the configured queues until SIGTERM or SIGINT,
// then drains and exits 0. Exit 1: the rules or the AWS setup do not load; 2: usage or
// configuration errors.
func cmdRun(ctx context.Context, env *cmdEnv, args []string) int {
	fs := flag.NewFlagSet("eventproc run", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	file := fs.String("config", "", "configuration file (default: $"+config.EnvConfigFile+", else ./"+config.DefaultFile+" when present)")
	byFlag := map[string]string{}
	for _, k := range config.Keys() {
		usage := k.Usage + " [$" + k.Env + "]"
		if k.Default != "" {
			usage += " (default " + k.Default + ")"
		}
		fs.String(k.Flag, "", usage)
		byFlag[k.Flag] = k.Name
	}
	fs.Usage = func() {
		fmt.Fprintln(env.stderr, "usage: eventproc run [flags]\n\nConsume SQS, validate against events.d, store in DynamoDB. Flags override\nEVENTPROC_* variables, which override the configuration file.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(env.stderr, "eventproc run: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	set := map[string]string{}
	fs.Visit(func(f *flag.Flag) {
		if key, ok := byFlag[f.Name]; ok {
			set[key] = f.Value.String()
		}
	})
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc run: %v\n", err)
		return 1
	}
	cfg, err := config.Load(config.Input{File: *file, Dir: wd, Environ: env.environ, Flags: set})
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc run: %v\n", err)
		return 2
	}
	log := newLogger(env.stderr, cfg.LogLevel, cfg.LogFormat)

	rs, diags, err := loadRules(cfg.Rules, cfg.Envelope)
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc run: %v\n", err)
		return 1
	}
	for _, d := range diags {
		fmt.Fprintln(env.stderr, d)
	}
	if rs == nil || diags.HasErrors() {
		fmt.Fprintf(env.stderr, "eventproc run: %s has errors\n", cfg.Rules)
		return 1
	}

	awsCfg, err := awsclient.Load(ctx, env.getenv)
	if err != nil {
		log.Error("aws config", slog.String("error", err.Error()))
		return 1
	}
	counter := &awsclient.Counter{}
	counter.Instrument(&awsCfg)
	w, err := newWorker(ctx, cfg, rs, awsCfg, log)
	if err != nil {
		if ctx.Err() != nil {
			log.Info("stopped before starting")
			return 0
		}
		log.Error("setup", slog.String("error", err.Error()))
		return 1
	}

	stopHTTP, err := serveHealth(cfg.HTTPAddr, w, log)
	if err != nil {
		log.Error("http", slog.String("error", err.Error()))
		return 1
	}
	defer stopHTTP()

	start := time.Now()
	if err := w.Run(ctx); err != nil {
		log.Error("worker", slog.String("error", err.Error()))
		return 1
	}
	logSummary(log, w.Stats(), counter, time.Since(start))
	return 0
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

// serveHealth serves /healthz (alive) and /readyz (taking work) on addr; "" serves
// nothing. The returned func stops the server.
func serveHealth(addr string, w *worker.Worker, log *slog.Logger) (func(), error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) { fmt.Fprintln(rw, "ok") })
	mux.HandleFunc("GET /readyz", func(rw http.ResponseWriter, _ *http.Request) {
		if err := w.Ready(); err != nil {
			http.Error(rw, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(rw, "ready")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
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
