package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"eventproc/adapters/awsclient"
	"eventproc/adapters/dynamotable"
	"eventproc/adapters/snstopic"
	"eventproc/adapters/sqsqueue"
	"eventproc/engine"
)

// provisionFlags are provision's flags.
type provisionFlags struct {
	queues      stringList
	maxReceive  *int
	visibility  *time.Duration
	topic       *string
	rawDelivery *bool
}

func cmdProvision(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet("provision", env, "[--rules DIR] --queue NAME [--queue NAME ...] [--max-receive COUNT] [--visibility DURATION] [--topic NAME [--raw-delivery]]\n\n"+
		"Creates each queue with its dead-letter queue NAME-dlq and a redrive policy, and\n"+
		"every table the rules write to; with --topic, the SNS topic, subscribed by each\n"+
		"queue. A NAME ending in .fifo makes a FIFO queue or topic (a FIFO topic feeds\n"+
		"FIFO queues only). Idempotent: what exists is updated or checked.")
	rules := rulesFlag(fs, env)
	var f provisionFlags
	fs.Var(&f.queues, "queue", "queue `name` to create with its dead-letter queue (repeatable)")
	f.maxReceive = fs.Int("max-receive", 0, "the redrive policy's maxReceiveCount: the `count` of receives before a message is dead-lettered; must exceed the rules' max attempts (default max attempts + 3; 10 × max attempts for a FIFO queue)")
	f.visibility = fs.Duration("visibility", 60*time.Second, "the queues' visibility timeout")
	f.topic = fs.String("topic", "", "SNS topic `name` to create and subscribe each queue to")
	f.rawDelivery = fs.Bool("raw-delivery", false, "subscribe the queues with raw message delivery: a queue gets the published message itself, not SNS's notification wrapping it")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return unexpectedArg(env, fs)
	}
	if msg := f.check(); msg != "" {
		fmt.Fprintf(env.stderr, "eventproc provision: %s\n", msg)
		return 2
	}
	rs := awsRules(env, "provision", *rules)
	if rs == nil {
		return 1
	}
	if *f.maxReceive != 0 && *f.maxReceive <= rs.MaxAttempts() {
		fmt.Fprintf(env.stderr, "eventproc provision: --max-receive %d must exceed the rules' max attempts (%d)\n", *f.maxReceive, rs.MaxAttempts())
		return 2
	}
	cfg, err := awsclient.Load(ctx, env.getenv)
	if err == nil {
		err = provisionAll(ctx, env, cfg, rs, &f)
	}
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc provision: %v\n", err)
		return 1
	}
	return 0
}

// check returns what is wrong with the flags, or "".
func (f *provisionFlags) check() string {
	if *f.maxReceive < 0 || *f.visibility <= 0 || *f.visibility > 12*time.Hour {
		return "--max-receive must be positive and --visibility within (0, 12h]"
	}
	if *f.topic == "" {
		if *f.rawDelivery {
			return "--raw-delivery needs --topic"
		}
		return ""
	}
	for _, q := range f.queues {
		if snstopic.IsFIFO(*f.topic) != snstopic.IsFIFO(queueName(q)) {
			return fmt.Sprintf("topic %s cannot feed queue %s: a FIFO topic (.fifo) feeds FIFO queues only, and a FIFO queue takes only a FIFO topic's messages", *f.topic, queueName(q))
		}
	}
	return ""
}

// provisionAll creates the tables, the queues and the topic, printing a line for each.
func provisionAll(ctx context.Context, env *cmdEnv, cfg aws.Config, rs *engine.Ruleset, f *provisionFlags) error {
	ddb := dynamotable.NewClient(cfg)
	for _, t := range rs.Tables() {
		created, err := dynamotable.Provision(ctx, ddb, dynamotable.Spec{Name: t.Name, Key: t.Key})
		if err != nil {
			return err
		}
		state := "exists"
		if created {
			state = "created"
		}
		fmt.Fprintf(env.stdout, "table %s (key %s): %s\n", t.Name, strings.Join(t.Key, ", "), state)
	}
	api := sqsqueue.NewClient(cfg)
	var queues []sqsqueue.Provisioned
	for _, q := range f.queues {
		p, err := sqsqueue.Provision(ctx, api, queueName(q), sqsqueue.ProvisionOptions{
			MaxAttempts:       rs.MaxAttempts(),
			MaxReceiveCount:   *f.maxReceive,
			VisibilityTimeout: *f.visibility,
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "queue %s: %s (dead letters: %s after %d receives; visibility %v)\n",
			p.Name, p.URL, sqsqueue.DeadLetterName(p.Name), p.MaxReceiveCount, *f.visibility)
		queues = append(queues, p)
	}
	if *f.topic == "" {
		return nil
	}
	return provisionTopic(ctx, env, cfg, api, *f.topic, *f.rawDelivery, queues)
}

// provisionTopic creates the topic and subscribes each queue to it, after letting the
// topic send to the queue.
func provisionTopic(ctx context.Context, env *cmdEnv, cfg aws.Config, sq sqsqueue.API, name string, raw bool, queues []sqsqueue.Provisioned) error {
	api := snstopic.NewClient(cfg)
	arn, err := snstopic.CreateTopic(ctx, api, name, snstopic.TopicOptions{})
	if err != nil {
		return err
	}
	kind := "standard"
	if snstopic.IsFIFO(name) {
		kind = "FIFO"
	}
	fmt.Fprintf(env.stdout, "topic %s: %s (%s)\n", name, arn, kind)
	delivery := "wrapped: SNS notifications"
	if raw {
		delivery = "raw delivery"
	}
	for _, q := range queues {
		if err := sqsqueue.AllowTopic(ctx, sq, q.URL, q.ARN, arn, 0); err != nil {
			return err
		}
		sub, err := snstopic.SubscribeQueue(ctx, api, arn, q.ARN, raw, 0)
		if err != nil {
			return err
		}
		state := "exists"
		if sub.Created {
			state = "created"
		}
		fmt.Fprintf(env.stdout, "subscription of queue %s to topic %s: %s (%s): %s\n", q.Name, name, sub.ARN, delivery, state)
	}
	return nil
}

// queueName returns the name of a queue given by name or URL.
func queueName(nameOrURL string) string {
	if i := strings.LastIndexByte(nameOrURL, '/'); i >= 0 && strings.Contains(nameOrURL, "://") {
		return nameOrURL[i+1:]
	}
	return nameOrURL
}
