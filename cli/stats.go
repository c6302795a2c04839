package cli

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"

	"eventproc/adapters/awsclient"
	"eventproc/adapters/dynamotable"
	"eventproc/adapters/sqsqueue"
)

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
	ddb := dynamotable.NewClient(cfg)
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
	api := sqsqueue.NewClient(cfg)
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
