package cli

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"eventproc/adapters/awsclient"
	"eventproc/adapters/sqsqueue"
)

// redriveFlags are redrive's parsed flags.
type redriveFlags struct {
	queue, dlq, typ, outcome, reason string
	dryRun                           bool
	limit                            int
	hold                             time.Duration
}

// cmdRedrive moves messages from a dead-letter queue back to its source queue.
func cmdRedrive(ctx context.Context, env *cmdEnv, args []string) int {
	f, code, ok := parseRedriveFlags(env, args)
	if !ok {
		return code
	}
	cfg, err := awsclient.Load(ctx, env.getenv)
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc redrive: %v\n", err)
		return 1
	}
	api := sqsqueue.NewClient(cfg)
	from, src, err := redriveQueues(ctx, api, f)
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc redrive: %v\n", err)
		return 1
	}
	if from == src {
		fmt.Fprintln(env.stderr, "eventproc redrive: the dead-letter queue and the queue are the same")
		return 2
	}
	mode := ""
	if f.dryRun {
		mode = " (dry run)"
	}
	fmt.Fprintf(env.stderr, "redrive: from %s to %s%s\n", from, src, mode)
	res, err := sqsqueue.Redrive(ctx, api, from, src, redriveOptions(env, f))
	fmt.Fprintf(env.stderr, "redrive: %d received, %d matched, %d moved, %d failed\n", res.Received, res.Matched, res.Moved, res.Failed)
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc redrive: %v\n", err)
		return 1
	}
	if res.Failed > 0 {
		return 1
	}
	return 0
}

// parseRedriveFlags parses redrive's arguments; when ok is false, code is the exit code.
func parseRedriveFlags(env *cmdEnv, args []string) (f redriveFlags, code int, ok bool) {
	fs := newFlagSet("redrive", env, "--queue NAME|URL [--dlq NAME|URL] [--dry-run] [--type T] [--outcome O] [--reason TEXT] [--limit N] [--hold DURATION]\n\n"+
		"Moves messages from the queue's dead-letter queue (named by its redrive policy, or\n"+
		"--dlq) back to the queue, one line per message on stdout, progress on stderr. A\n"+
		"message leaves the dead-letter queue only once it is in the queue; its dead-letter\n"+
		"attributes are dropped and redrive_count counts its moves.")
	fs.StringVar(&f.queue, "queue", "", "the source queue's `name or URL` (where messages go back to)")
	fs.StringVar(&f.dlq, "dlq", "", "the dead-letter queue's `name or URL` (default: the queue's redrive policy target)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "list the messages that would move, with their reasons; move nothing")
	fs.StringVar(&f.typ, "type", "", "only messages whose event_type attribute is `T`")
	fs.StringVar(&f.outcome, "outcome", "", "only messages whose outcome attribute is `O` (exhausted, rule_failed, panic, broken, …)")
	fs.StringVar(&f.reason, "reason", "", "only messages whose error attribute contains `TEXT`")
	fs.IntVar(&f.limit, "limit", 0, "move at most `N` messages (0: all)")
	fs.DurationVar(&f.hold, "hold", 2*time.Minute, "how long a message being moved stays hidden; one whose move is cut short reappears after it")
	if code, ok := parseFlags(fs, args); !ok {
		return f, code, false
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(env.stderr, "eventproc redrive: unexpected argument %q\n", fs.Arg(0))
		return f, 2, false
	case f.queue == "":
		fmt.Fprintln(env.stderr, "eventproc redrive: --queue is required")
		return f, 2, false
	case f.limit < 0:
		fmt.Fprintln(env.stderr, "eventproc redrive: --limit must not be negative")
		return f, 2, false
	}
	return f, 0, true
}

// redriveQueues resolves the dead-letter queue to move from (--dlq, or the queue's
// redrive policy target) and the queue to move to.
func redriveQueues(ctx context.Context, api sqsqueue.API, f redriveFlags) (from, src string, err error) {
	src, err = sqsqueue.ResolveURL(ctx, api, f.queue, 0)
	if err != nil {
		return "", "", err
	}
	if f.dlq == "" {
		from, err = sqsqueue.RedriveTarget(ctx, api, src, 0)
	} else {
		from, err = sqsqueue.ResolveURL(ctx, api, f.dlq, 0)
	}
	if err != nil {
		return "", "", err
	}
	return from, src, nil
}

// redriveOptions turns the flags into the move's options: the filter, one line per
// message on stdout and progress on stderr at most once a second.
func redriveOptions(env *cmdEnv, f redriveFlags) sqsqueue.RedriveOptions {
	verb := "moving"
	if f.dryRun {
		verb = "would move"
	}
	lastProgress := time.Now()
	return sqsqueue.RedriveOptions{
		Limit:  f.limit,
		DryRun: f.dryRun,
		Hold:   f.hold,
		Match: func(m sqsqueue.DeadLetterMessage) bool {
			return (f.typ == "" || m.Attributes["event_type"] == f.typ) &&
				(f.outcome == "" || m.Attributes["outcome"] == f.outcome) &&
				(f.reason == "" || strings.Contains(m.Attributes["error"], f.reason))
		},
		OnMessage: func(m sqsqueue.DeadLetterMessage) {
			fmt.Fprintf(env.stdout, "%s %s%s\n", verb, m.ID, formatAttrs(m.Attributes))
		},
		OnProgress: func(r sqsqueue.RedriveResult) {
			if time.Since(lastProgress) >= time.Second {
				lastProgress = time.Now()
				fmt.Fprintf(env.stderr, "redrive: %d received, %d matched, %d moved, %d failed\n", r.Received, r.Matched, r.Moved, r.Failed)
			}
		},
	}
}

// formatAttrs prints a message's attributes as " key=value" pairs: the reason
// attributes first, in a fixed order, then the rest sorted.
func formatAttrs(attrs map[string]string) string {
	first := []string{"outcome", "event_type", "schema_version", "event_id", "attempts", "first_failure", "last_failure", "rule", "rule_position", "error"}
	var b strings.Builder
	for _, k := range first {
		if v, ok := attrs[k]; ok {
			fmt.Fprintf(&b, " %s=%s", k, quoteIfNeeded(v))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		if !slices.Contains(first, k) {
			fmt.Fprintf(&b, " %s=%s", k, quoteIfNeeded(attrs[k]))
		}
	}
	return b.String()
}

func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\n\"=\\") || !strconv.CanBackquote(s) {
		return strconv.Quote(s)
	}
	return s
}
