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

// statsFlags are stats's parsed flags.
type statsFlags struct {
	rules          string
	tables, queues stringList
	withTables     bool
}

func cmdStats(ctx context.Context, env *cmdEnv, args []string) int {
	f, code, ok := parseStatsFlags(env, args)
	if !ok {
		return code
	}
	tables := f.tables
	if !f.withTables {
		tables = nil
	} else if len(tables) == 0 {
		if tables, ok = rulesTables(env, f.rules); !ok {
			return 1
		}
	}
	cfg, err := awsclient.Load(ctx, env.getenv)
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc stats: %v\n", err)
		return 1
	}
	// On an error the table is not flushed: what it holds is incomplete.
	tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
	if err := writeTableCounts(ctx, tw, dynamotable.NewClient(cfg), tables); err != nil {
		fmt.Fprintf(env.stderr, "eventproc stats: %v\n", err)
		return 1
	}
	if err := writeQueueDepths(ctx, tw, sqsqueue.NewClient(cfg), f.queues); err != nil {
		fmt.Fprintf(env.stderr, "eventproc stats: %v\n", err)
		return 1
	}
	tw.Flush()
	return 0
}

// parseStatsFlags parses stats's arguments; when ok is false, code is the exit code.
func parseStatsFlags(env *cmdEnv, args []string) (f statsFlags, code int, ok bool) {
	fs := newFlagSet("stats", env, "[--table T ...] [--queue NAME|URL ...] [--rules DIR] [--tables=false]\n\n"+
		"Counts a table's items by event_type, schema_version and status (a full Scan), and\n"+
		"the approximate depth of each queue and its dead-letter queue. Without --table:\n"+
		"every table the rules write to.")
	rules := rulesFlag(fs, env)
	fs.Var(&f.tables, "table", "table `name` (repeatable)")
	fs.Var(&f.queues, "queue", "queue `name or URL` (repeatable)")
	fs.BoolVar(&f.withTables, "tables", true, "count the tables' items (false: queue depths only)")
	if code, ok := parseFlags(fs, args); !ok {
		return f, code, false
	}
	if fs.NArg() > 0 {
		return f, unexpectedArg(env, fs), false
	}
	f.rules = *rules
	return f, 0, true
}

// rulesTables lists, once each, the tables the rules write to; ok is false when the
// rules do not load (their diagnostics are printed).
func rulesTables(env *cmdEnv, rules string) (tables []string, ok bool) {
	rs := awsRules(env, "stats", rules)
	if rs == nil {
		return nil, false
	}
	seen := map[string]bool{}
	for _, t := range rs.Tables() {
		if !seen[t.Name] {
			seen[t.Name] = true
			tables = append(tables, t.Name)
		}
	}
	return tables, true
}

// writeTableCounts writes each table's items counted by event_type, schema_version and
// status, and their total.
func writeTableCounts(ctx context.Context, tw *tabwriter.Writer, ddb dynamotable.API, tables []string) error {
	for _, t := range tables {
		groups, err := dynamotable.Count(ctx, ddb, t, []string{"event_type", "schema_version", "status"})
		if err != nil {
			return err
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
	return nil
}

// writeQueueDepths writes the approximate depth of each queue and of its dead-letter
// queue, if it has one.
func writeQueueDepths(ctx context.Context, tw *tabwriter.Writer, api sqsqueue.API, queues []string) error {
	for _, q := range queues {
		url, err := sqsqueue.ResolveURL(ctx, api, q, 0)
		if err != nil {
			return err
		}
		targets := []struct{ label, url string }{{"queue " + queueName(url), url}}
		if dlq, err := sqsqueue.RedriveTarget(ctx, api, url, 0); err == nil {
			targets = append(targets, struct{ label, url string }{"dead-letter queue " + queueName(dlq), dlq})
		} else if !errors.Is(err, sqsqueue.ErrNoDeadLetterQueue) {
			return err
		}
		for _, tg := range targets {
			d, err := sqsqueue.QueueDepth(ctx, api, tg.url, 0)
			if err != nil {
				return err
			}
			fmt.Fprintf(tw, "%s\tvisible %d\tin flight %d\tdelayed %d\n", tg.label, d.Visible, d.InFlight, d.Delayed)
		}
	}
	return nil
}
