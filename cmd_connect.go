package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"eventproc/adapters/awsclient"
	"eventproc/adapters/sqsqueue"
	"eventproc/config"
	"eventproc/engine"
)

// check --connect: the live setup, reported as diagnostics like any other. Tables are
// positioned where events.d names them; queues where the configuration names them
// (the file, the variable or the flag).

// tableDiagnostics checks that every table of rs exists, is active, and is keyed as the
// persistence mapping says (check --connect, and a SIGHUP reload before it switches).
func tableDiagnostics(ctx context.Context, db *dynamodb.Client, rs *engine.Ruleset, rulesDir string, timeout time.Duration) engine.Diagnostics {
	var ds engine.Diagnostics
	add := func(p engine.Pos, sev engine.Severity, code, format string, args ...any) {
		ds = append(ds, engine.Diagnostic{Pos: p, Severity: sev, Code: code, Message: fmt.Sprintf(format, args...)})
	}
	for _, t := range rs.Tables() {
		p := t.Pos
		p.File = engine.DirPath(rulesDir, p.File)
		cctx, cancel := context.WithTimeout(ctx, timeout)
		out, err := db.DescribeTable(cctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.Name)})
		cancel()
		var missing *ddbtypes.ResourceNotFoundException
		switch {
		case errors.As(err, &missing):
			add(p, engine.Error, "table-missing", "table %s does not exist (eventproc provision creates it)", t.Name)
			continue
		case err != nil:
			add(p, engine.Error, "aws-unreachable", "table %s: %v", t.Name, err)
			continue
		}
		want := keyDescription(t.Key)
		if got := tableKeyDescription(out.Table); got != want {
			add(p, engine.Error, "table-key-mismatch", "table %s is keyed %s, but the persistence mapping needs %s", t.Name, got, want)
		}
		if out.Table.TableStatus != ddbtypes.TableStatusActive {
			add(p, engine.Warning, "table-not-active", "table %s is %s, not ACTIVE", t.Name, out.Table.TableStatus)
		}
	}
	return ds
}

// connectDiagnostics checks the queues of cfg and the tables of rs.
func connectDiagnostics(ctx context.Context, env *cmdEnv, rs *engine.Ruleset, cfg *config.Config, rulesDir string) engine.Diagnostics {
	var ds engine.Diagnostics
	add := func(p engine.Pos, sev engine.Severity, code, format string, args ...any) {
		ds = append(ds, engine.Diagnostic{Pos: p, Severity: sev, Code: code, Message: fmt.Sprintf(format, args...)})
	}
	awsCfg, err := awsclient.Load(ctx, env.getenv)
	if err != nil {
		add(engine.Pos{File: "aws", Line: 1, Col: 1}, engine.Error, "aws-config", "%v", err)
		return ds
	}
	timeout := cfg.CallTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	call := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, timeout) }

	ds = append(ds, tableDiagnostics(ctx, dynamodb.NewFromConfig(awsCfg), rs, rulesDir, timeout)...)

	// Queues: they exist, have a redrive policy to an existing DLQ with maxReceiveCount
	// above every max_attempts, and a visibility timeout that suits the worker.
	q := sqs.NewFromConfig(awsCfg)
	if len(cfg.Sources) == 0 {
		add(engine.Pos{File: "config", Line: 1, Col: 1}, engine.Warning, "no-queue", "no queue is configured (queue_url or sources): nothing to check on SQS")
	}
	origin := cfg.Origin["sources"]
	if o := cfg.Origin["queue_url"]; o != "" && o != "default" {
		origin = o
	}
	if origin == "" || origin == "default" {
		origin = "config"
	}
	for _, src := range cfg.Sources {
		p := engine.Pos{File: origin, Line: 1, Col: 1}
		url, err := sqsqueue.ResolveURL(ctx, q, src.QueueURL, timeout)
		if err != nil {
			add(p, engine.Error, "queue-missing", "queue %s: %v", src.QueueURL, err)
			continue
		}
		cctx, cancel := call()
		out, err := q.GetQueueAttributes(cctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
		cancel()
		if err != nil {
			add(p, engine.Error, "queue-missing", "queue %s: %v", src.QueueURL, err)
			continue
		}
		attrs := out.Attributes
		if attrs["RedrivePolicy"] == "" {
			add(p, engine.Error, "queue-no-redrive", "queue %s has no redrive policy: messages that fail for ever are never parked (give it a DLQ with maxReceiveCount above %d)", src.QueueURL, rs.MaxAttempts())
		} else {
			if _, err := sqsqueue.RedriveTarget(ctx, q, url, timeout); err != nil {
				add(p, engine.Error, "queue-no-redrive", "queue %s: its dead-letter queue: %v", src.QueueURL, err)
			}
			var rp sqsqueue.RedrivePolicy
			if err := json.Unmarshal([]byte(attrs["RedrivePolicy"]), &rp); err != nil {
				add(p, engine.Error, "queue-no-redrive", "queue %s: unreadable redrive policy: %v", src.QueueURL, err)
			} else if int(rp.MaxReceiveCount) <= rs.MaxAttempts() {
				add(p, engine.Error, "queue-redrive-low", "queue %s: redrive maxReceiveCount %d must exceed the largest max_attempts in events.d (%d), or the queue dead-letters messages the worker still retries", src.QueueURL, int(rp.MaxReceiveCount), rs.MaxAttempts())
			}
		}
		if vt, err := strconv.Atoi(attrs["VisibilityTimeout"]); err == nil {
			vis := time.Duration(vt) * time.Second
			switch {
			case vis < 2*timeout:
				add(p, engine.Error, "queue-visibility", "queue %s: visibility timeout %s is shorter than two AWS calls (call_timeout %s): messages would be delivered again while still being processed", src.QueueURL, vis, timeout)
			case cfg.VisibilityTimeout > 0 && vis != cfg.VisibilityTimeout:
				add(p, engine.Warning, "queue-visibility", "queue %s: visibility timeout %s differs from visibility_timeout %s; the worker extends at half the shorter", src.QueueURL, vis, cfg.VisibilityTimeout)
			}
		}
	}
	return ds
}

func keyDescription(key []string) string {
	parts := make([]string, len(key))
	for i, k := range key {
		kind := "HASH"
		if i == 1 {
			kind = "RANGE"
		}
		parts[i] = k + " " + kind + " S"
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func tableKeyDescription(t *ddbtypes.TableDescription) string {
	types := map[string]string{}
	for _, d := range t.AttributeDefinitions {
		types[aws.ToString(d.AttributeName)] = string(d.AttributeType)
	}
	var parts []string
	for _, k := range t.KeySchema {
		parts = append(parts, aws.ToString(k.AttributeName)+" "+string(k.KeyType)+" "+types[aws.ToString(k.AttributeName)])
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// connectConfig loads the process configuration as `eventproc run` would.
func connectConfig(env *cmdEnv, file string) (*config.Config, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	return config.Load(config.Input{File: file, Dir: wd, Environ: env.environ})
}
