package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"eventproc/config"
	"eventproc/service"
)

// cmdRun is the worker: it consumes the configured queues until SIGTERM or SIGINT,
// then drains and exits 0; SIGHUP reloads events.d (service.Run). Exit 1: the rules or
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
	if err := service.Run(ctx, cfg, log, service.Options{Getenv: env.getenv, Reload: hup}); err != nil {
		return 1 // logged
	}
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
