package cli

import (
	"context"
	"fmt"
	"os"
	"time"

	"eventproc/adapters/awsclient"
	"eventproc/adapters/dynamotable"
	"eventproc/adapters/sqsqueue"
	"eventproc/config"
	"eventproc/engine"
	"eventproc/service"
)

// check --connect: the live setup, reported as diagnostics like any other. Tables are
// positioned where events.d names them; queues where the configuration names them
// (the file, the variable or the flag).

// connectDiagnostics checks the queues of cfg and the tables of rs.
func connectDiagnostics(ctx context.Context, env *cmdEnv, rs *engine.Ruleset, cfg *config.Config, rulesDir string) engine.Diagnostics {
	var ds engine.Diagnostics
	awsCfg, err := awsclient.Load(ctx, env.getenv)
	if err != nil {
		return append(ds, connectDiag(engine.Pos{File: "aws", Line: 1, Col: 1}, engine.Error, "aws-config", "%v", err))
	}
	timeout := cfg.CallTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}

	ds = append(ds, service.TableDiagnostics(ctx, dynamotable.NewClient(awsCfg), rs, rulesDir, timeout)...)

	q := sqsqueue.NewClient(awsCfg)
	if len(cfg.Sources) == 0 {
		ds = append(ds, connectDiag(engine.Pos{File: "config", Line: 1, Col: 1}, engine.Warning, "no-queue", "no queue is configured (queue_url or sources): nothing to check on SQS"))
	}
	origin := queueOrigin(cfg)
	for _, src := range cfg.Sources {
		p := engine.Pos{File: origin, Line: 1, Col: 1}
		ds = append(ds, queueDiagnostics(ctx, q, src.QueueURL, p, rs, cfg, timeout)...)
	}
	return ds
}

// connectDiag is one diagnostic of check --connect.
func connectDiag(p engine.Pos, sev engine.Severity, code, format string, args ...any) engine.Diagnostic {
	return engine.Diagnostic{Pos: p, Severity: sev, Code: code, Message: fmt.Sprintf(format, args...)}
}

// queueOrigin is where the configuration names the queues: the queue_url or sources
// key's origin (the file, the variable or the flag), else "config".
func queueOrigin(cfg *config.Config) string {
	origin := cfg.Origin["sources"]
	if o := cfg.Origin["queue_url"]; o != "" && o != "default" {
		origin = o
	}
	if origin == "" || origin == "default" {
		origin = "config"
	}
	return origin
}

// queueDiagnostics checks one queue, reported at p: it exists, has a redrive policy to
// an existing DLQ with maxReceiveCount above every max_attempts, and a visibility
// timeout that suits the worker.
func queueDiagnostics(ctx context.Context, q sqsqueue.API, queue string, p engine.Pos, rs *engine.Ruleset, cfg *config.Config, timeout time.Duration) engine.Diagnostics {
	var ds engine.Diagnostics
	add := func(sev engine.Severity, code, format string, args ...any) {
		ds = append(ds, connectDiag(p, sev, code, format, args...))
	}
	url, err := sqsqueue.ResolveURL(ctx, q, queue, timeout)
	if err != nil {
		add(engine.Error, "queue-missing", "queue %s: %v", queue, err)
		return ds
	}
	attrs, err := sqsqueue.QueueAttributes(ctx, q, url, timeout)
	if err != nil {
		add(engine.Error, "queue-missing", "queue %s: %v", queue, err)
		return ds
	}
	if attrs.RedrivePolicy == "" {
		add(engine.Error, "queue-no-redrive", "queue %s has no redrive policy: messages that fail for ever are never parked (give it a DLQ with maxReceiveCount above %d)", queue, rs.MaxAttempts())
	} else {
		if _, err := sqsqueue.RedriveTarget(ctx, q, url, timeout); err != nil {
			add(engine.Error, "queue-no-redrive", "queue %s: its dead-letter queue: %v", queue, err)
		}
		if rp, err := attrs.Redrive(); err != nil {
			add(engine.Error, "queue-no-redrive", "queue %s: unreadable redrive policy: %v", queue, err)
		} else if int(rp.MaxReceiveCount) <= rs.MaxAttempts() {
			add(engine.Error, "queue-redrive-low", "queue %s: redrive maxReceiveCount %d must exceed the largest max_attempts in events.d (%d), or the queue dead-letters messages the worker still retries", queue, int(rp.MaxReceiveCount), rs.MaxAttempts())
		}
	}
	if attrs.HasVisibility {
		vis := attrs.VisibilityTimeout
		switch {
		case vis < 2*timeout:
			add(engine.Error, "queue-visibility", "queue %s: visibility timeout %s is shorter than two AWS calls (call_timeout %s): messages would be delivered again while still being processed", queue, vis, timeout)
		case cfg.VisibilityTimeout > 0 && vis != cfg.VisibilityTimeout:
			add(engine.Warning, "queue-visibility", "queue %s: visibility timeout %s differs from visibility_timeout %s; the worker extends at half the shorter", queue, vis, cfg.VisibilityTimeout)
		}
	}
	return ds
}

// connectConfig loads the process configuration as `eventproc run` would.
func connectConfig(env *cmdEnv, file string) (*config.Config, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	return config.Load(config.Input{File: file, Dir: wd, Environ: env.environ})
}
