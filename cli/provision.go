package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"eventproc/adapters/awsclient"
	"eventproc/adapters/dynamotable"
	"eventproc/adapters/sqsqueue"
)

func cmdProvision(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet("provision", env, "[--rules DIR] --queue NAME [--queue NAME ...] [--max-receive COUNT] [--visibility DURATION]\n\n"+
		"Creates each queue with its dead-letter queue NAME-dlq and a redrive policy, and\n"+
		"every table the rules write to. Idempotent: what exists is updated or checked.")
	rules := rulesFlag(fs, env)
	var queues stringList
	fs.Var(&queues, "queue", "queue `name` to create with its dead-letter queue (repeatable)")
	maxReceive := fs.Int("max-receive", 0, "the redrive policy's maxReceiveCount: the `count` of receives before a message is dead-lettered; must exceed the rules' max attempts (default max attempts + 3; 10 × max attempts for a FIFO queue)")
	visibility := fs.Duration("visibility", 60*time.Second, "the queues' visibility timeout")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return unexpectedArg(env, fs)
	}
	if *maxReceive < 0 || *visibility <= 0 || *visibility > 12*time.Hour {
		fmt.Fprintln(env.stderr, "eventproc provision: --max-receive must be positive and --visibility within (0, 12h]")
		return 2
	}
	rs := awsRules(env, "provision", *rules)
	if rs == nil {
		return 1
	}
	if *maxReceive != 0 && *maxReceive <= rs.MaxAttempts() {
		fmt.Fprintf(env.stderr, "eventproc provision: --max-receive %d must exceed the rules' max attempts (%d)\n", *maxReceive, rs.MaxAttempts())
		return 2
	}
	cfg, err := awsclient.Load(ctx, env.getenv)
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc provision: %v\n", err)
		return 1
	}
	ddb := dynamotable.NewClient(cfg)
	for _, t := range rs.Tables() {
		created, err := dynamotable.Provision(ctx, ddb, dynamotable.Spec{Name: t.Name, Key: t.Key})
		if err != nil {
			fmt.Fprintf(env.stderr, "eventproc provision: %v\n", err)
			return 1
		}
		state := "exists"
		if created {
			state = "created"
		}
		fmt.Fprintf(env.stdout, "table %s (key %s): %s\n", t.Name, strings.Join(t.Key, ", "), state)
	}
	api := sqsqueue.NewClient(cfg)
	for _, q := range queues {
		p, err := sqsqueue.Provision(ctx, api, queueName(q), sqsqueue.ProvisionOptions{
			MaxAttempts:       rs.MaxAttempts(),
			MaxReceiveCount:   *maxReceive,
			VisibilityTimeout: *visibility,
		})
		if err != nil {
			fmt.Fprintf(env.stderr, "eventproc provision: %v\n", err)
			return 1
		}
		fmt.Fprintf(env.stdout, "queue %s: %s (dead letters: %s after %d receives; visibility %v)\n",
			p.Name, p.URL, sqsqueue.DeadLetterName(p.Name), p.MaxReceiveCount, *visibility)
	}
	return 0
}

// queueName returns the name of a queue given by name or URL.
func queueName(nameOrURL string) string {
	if i := strings.LastIndexByte(nameOrURL, '/'); i >= 0 && strings.Contains(nameOrURL, "://") {
		return nameOrURL[i+1:]
	}
	return nameOrURL
}
