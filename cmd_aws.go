package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"eventproc/adapters/awsclient"
	"eventproc/adapters/dynamotable"
	"eventproc/adapters/sqsqueue"
	"eventproc/engine"
)

// The AWS commands: provision (queues, dead-letter queues, tables), send (generated
// events), stats (a table's items and the queues' depths).

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// awsRules loads the rules for an AWS command, printing the errors; nil when there are
// any. Warnings are `eventproc check`'s to list: one line says how many there are.
func awsRules(env *cmdEnv, name, dir string) *engine.Ruleset {
	rs, diags, err := engine.LoadDir(dir)
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc %s: %v\n", name, err)
		return nil
	}
	if rs == nil || diags.HasErrors() {
		for _, d := range diags {
			if d.Severity == engine.Error {
				fmt.Fprintln(env.stderr, d)
			}
		}
		fmt.Fprintf(env.stderr, "eventproc %s: %s has errors\n", name, dir)
		return nil
	}
	if _, n := diags.Count(); n > 0 {
		fmt.Fprintf(env.stderr, "eventproc %s: %s\n", name, warningsLine(dir, n))
	}
	return rs
}

// warningsLine is the one line that says the rules have warnings, for the commands that
// do not list them (run, provision, send, stats).
func warningsLine(dir string, n int) string {
	s := "s"
	if n == 1 {
		s = ""
	}
	return fmt.Sprintf("%s has %d warning%s; eventproc check --rules %s lists them", dir, n, s, dir)
}

// queueName returns the name of a queue given by name or URL.
func queueName(nameOrURL string) string {
	if i := strings.LastIndexByte(nameOrURL, '/'); i >= 0 && strings.Contains(nameOrURL, "://") {
		return nameOrURL[i+1:]
	}
	return nameOrURL
}

func cmdProvision(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet("provision", env, "[--rules DIR] --queue NAME [--queue NAME ...] [--max-receive COUNT] [--visibility DURATION]\n\n"+
		"Creates each queue with its dead-letter queue NAME-dlq and a redrive policy, and\n"+
		"every table the rules write to. Idempotent: what exists is updated or checked.")
	rules := rulesFlag(fs, env)
	var queues stringList
	fs.Var(&queues, "queue", "queue `name` to create with its dead-letter queue (repeatable)")
	maxReceive := fs.Int("max-receive", 0, "the redrive policy's maxReceiveCount: the `count` of receives before a message is dead-lettered; must exceed the rules' max attempts (default max attempts + 3)")
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
	ddb := dynamodb.NewFromConfig(cfg)
	for _, t := range rs.Tables() {
		created, err := dynamotable.Provision(ctx, ddb, t)
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
	api := sqs.NewFromConfig(cfg)
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

func cmdSend(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet("send", env, "[--rules DIR] --queue NAME|URL --type T|all [--version V] --count N [--invalid FRACTION] [--rate R] [--seed N] [--senders N]\n\n"+
		"Sends events generated from the rules' declarations (what generate prints for the\n"+
		"same flags and seed), each with a persistence key of its own, ten per\n"+
		"SendMessageBatch call. --type all sends every type and version in turn; without\n"+
		"--version every version of the type.")
	rules := rulesFlag(fs, env)
	queue := fs.String("queue", "", "queue `name or URL`")
	gf := addGenFlags(fs)
	count := gf.count
	rate := fs.Float64("rate", 0, "send at this `rate`, in messages per second (0: as fast as possible)")
	senders := fs.Int("senders", 8, "the `number` of SendMessageBatch calls at once")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	switch {
	case fs.NArg() > 0:
		return unexpectedArg(env, fs)
	case *queue == "":
		fmt.Fprintln(env.stderr, "eventproc send: --queue is required")
		return 2
	case gf.check() != "":
		fmt.Fprintf(env.stderr, "eventproc send: %s\n", gf.check())
		return 2
	case *rate < 0 || *senders < 1:
		fmt.Fprintln(env.stderr, "eventproc send: --rate must not be negative and --senders must be positive")
		return 2
	}
	rs := awsRules(env, "send", *rules)
	if rs == nil {
		return 1
	}
	gen, kinds, err := gf.generator(rs)
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc send: %v\n", err)
		return 2
	}
	cfg, err := awsclient.Load(ctx, env.getenv)
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc send: %v\n", err)
		return 1
	}
	api := sqs.NewFromConfig(cfg)
	url, err := sqsqueue.ResolveURL(ctx, api, *queue, 0)
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc send: %v\n", err)
		return 1
	}
	// One producer generates and paces the batches; senders send them.
	type batch struct{ bodies []string }
	batches := make(chan batch, *senders)
	var sent, failed atomic.Int64
	var genErr error
	nInvalid := 0
	start := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(batches)
		var b []string
		for i := 0; i < *count; i++ {
			e, err := gen.Next()
			if err != nil {
				genErr = err
				cancel()
				return
			}
			if !e.Valid {
				nInvalid++
			}
			b = append(b, e.Body)
			if len(b) == 10 || i == *count-1 {
				if *rate > 0 { // pace: message i+1 goes no sooner than (i+1)/rate
					due := start.Add(time.Duration(float64(i+1-len(b)) / *rate * float64(time.Second)))
					if d := time.Until(due); d > 0 {
						select {
						case <-ctx.Done():
							return
						case <-time.After(d):
						}
					}
				}
				select {
				case batches <- batch{b}:
				case <-ctx.Done():
					return
				}
				b = nil
			}
		}
	}()
	var mu sync.Mutex
	var sendErr error
	var wg sync.WaitGroup
	for range *senders {
		wg.Go(func() {
			for b := range batches {
				n, err := sqsqueue.SendBatch(ctx, api, url, b.bodies, 0)
				sent.Add(int64(n))
				if err != nil {
					failed.Add(int64(len(b.bodies) - n))
					mu.Lock()
					if sendErr == nil {
						sendErr = err
					}
					mu.Unlock()
					cancel()
				}
			}
		})
	}
	stopBar := progress(env.stderr, "sent", int64(*count), &sent)
	wg.Wait()
	stopBar()
	took := time.Since(start)
	switch {
	case genErr != nil:
		fmt.Fprintf(env.stderr, "eventproc send: %v\n", genErr)
		return 1
	case sendErr != nil:
		fmt.Fprintf(env.stderr, "eventproc send: sent %d of %d: %v\n", sent.Load(), *count, sendErr)
		return 1
	case ctx.Err() != nil && sent.Load() < int64(*count):
		fmt.Fprintf(env.stderr, "eventproc send: interrupted after %d of %d\n", sent.Load(), *count)
		return 1
	}
	fmt.Fprintf(env.stdout, "sent %d messages (%d valid, %d invalid) of %s to %s in %v (%.0f/s, seed %d)\n",
		sent.Load(), sent.Load()-int64(nInvalid), nInvalid, kindNames(kinds), url,
		took.Round(time.Millisecond), float64(sent.Load())/max(took.Seconds(), 1e-9), *gf.seed)
	return 0
}

// progress draws a progress bar of done/total on w while w is a terminal, until the
// returned func is called.
func progress(w io.Writer, what string, total int64, done *atomic.Int64) func() {
	f, ok := w.(*os.File)
	if !ok {
		return func() {}
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return func() {}
	}
	draw := func() {
		n := done.Load()
		const width = 30
		fill := int(float64(width) * float64(n) / float64(max(total, 1)))
		fmt.Fprintf(w, "\r%s %d/%d [%s%s] %3.0f%%", what, n, total,
			strings.Repeat("#", min(fill, width)), strings.Repeat(" ", width-min(fill, width)), 100*float64(n)/float64(max(total, 1)))
	}
	stop := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				draw()
				fmt.Fprintln(w)
				return
			case <-t.C:
				draw()
			}
		}
	}()
	return func() { close(stop); <-finished }
}

func cmdStats(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet("stats", env, "[--table T ...] [--queue NAME|URL ...] [--rules DIR] [--tables=false]\n\n"+
		"Counts a table's items by event_type, schema_version and status (a full Scan), and\n"+
		"the approximate depth of each queue and its dead-letter queue. Without --table:\n"+
		"every table the rules write to.")
	rules := rulesFlag(fs, env)
	var tables, queues stringList
	fs.Var(&tables, "table", "table `name` (repeatable)")
	fs.Var(&queues, "queue", "queue `name or URL` (repeatable)")
	withTables := fs.Bool("tables", true, "count the tables' items (false: queue depths only)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return unexpectedArg(env, fs)
	}
	if !*withTables {
		tables = nil
	} else if len(tables) == 0 {
		rs := awsRules(env, "stats", *rules)
		if rs == nil {
			return 1
		}
		seen := map[string]bool{}
		for _, t := range rs.Tables() {
			if !seen[t.Name] {
				seen[t.Name] = true
				tables = append(tables, t.Name)
			}
		}
	}
	cfg, err := awsclient.Load(ctx, env.getenv)
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc stats: %v\n", err)
		return 1
	}
	ddb := dynamodb.NewFromConfig(cfg)
	tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
	for _, t := range tables {
		groups, err := dynamotable.Count(ctx, ddb, t, []string{"event_type", "schema_version", "status"})
		if err != nil {
			fmt.Fprintf(env.stderr, "eventproc stats: %v\n", err)
			return 1
		}
		total := 0
		fmt.Fprintf(tw, "table %s\n", t)
		fmt.Fprintln(tw, "  event_type\tschema_version\tstatus\titems")
		for _, g := range groups {
			vals := make([]string, len(g.Values))
			for i, v := range g.Values {
				vals[i] = v
				if v == "" {
					vals[i] = "-"
				}
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\n", vals[0], vals[1], vals[2], g.Items)
			total += g.Items
		}
		fmt.Fprintf(tw, "  total\t\t\t%d\n", total)
	}
	api := sqs.NewFromConfig(cfg)
	for _, q := range queues {
		url, err := sqsqueue.ResolveURL(ctx, api, q, 0)
		if err != nil {
			fmt.Fprintf(env.stderr, "eventproc stats: %v\n", err)
			return 1
		}
		targets := []struct{ label, url string }{{"queue " + queueName(url), url}}
		if dlq, err := sqsqueue.RedriveTarget(ctx, api, url, 0); err == nil {
			targets = append(targets, struct{ label, url string }{"dead-letter queue " + queueName(dlq), dlq})
		} else if !errors.Is(err, sqsqueue.ErrNoDeadLetterQueue) {
			fmt.Fprintf(env.stderr, "eventproc stats: %v\n", err)
			return 1
		}
		for _, tg := range targets {
			d, err := sqsqueue.QueueDepth(ctx, api, tg.url, 0)
			if err != nil {
				fmt.Fprintf(env.stderr, "eventproc stats: %v\n", err)
				return 1
			}
			fmt.Fprintf(tw, "%s\tvisible %d\tin flight %d\tdelayed %d\n", tg.label, d.Visible, d.InFlight, d.Delayed)
		}
	}
	tw.Flush()
	return 0
}
