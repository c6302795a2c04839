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

// cmdRedrive moves messages from a dead-letter queue back to its source queue.
func cmdRedrive(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet("redrive", env, "--queue NAME|URL [--dlq NAME|URL] [--dry-run] [--type T] [--outcome O] [--reason TEXT] [--limit N] [--hold DURATION]\n\n"+
		"Moves messages from the queue's dead-letter queue (named by its redrive policy, or\n"+
		"--dlq) back to the queue, one line per message on stdout, progress on stderr. A\n"+
		"message leaves the dead-letter queue only once it is in the queue; its dead-letter\n"+
		"attributes are dropped and redrive_count counts its moves.")
	queue := fs.String("queue", "", "the source queue's `name or URL` (where messages go back to)")
	dlq := fs.String("dlq", "", "the dead-letter queue's `name or URL` (default: the queue's redrive policy target)")
	dryRun := fs.Bool("dry-run", false, "list the messages that would move, with their reasons; move nothing")
	typ := fs.String("type", "", "only messages whose event_type attribute is `T`")
	outcome := fs.String("outcome", "", "only messages whose outcome attribute is `O` (exhausted, rule_failed, panic, broken, …)")
	reason := fs.String("reason", "", "only messages whose error attribute contains `TEXT`")
	limit := fs.Int("limit", 0, "move at most `N` messages (0: all)")
	hold := fs.Duration("hold", 2*time.Minute, "how long a message being moved stays hidden; one whose move is cut short reappears after it")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(env.stderr, "eventproc redrive: unexpected argument %q\n", fs.Arg(0))
		return 2
	case *queue == "":
		fmt.Fprintln(env.stderr, "eventproc redrive: --queue is required")
		return 2
	case *limit < 0:
		fmt.Fprintln(env.stderr, "eventproc redrive: --limit must not be negative")
		return 2
	}
	cfg, err := awsclient.Load(ctx, env.getenv)
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc redrive: %v\n", err)
		return 1
	}
	api := sqsqueue.NewClient(cfg)
	src, err := sqsqueue.ResolveURL(ctx, api, *queue, 0)
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc redrive: %v\n", err)
		return 1
	}
	from := *dlq
	if from == "" {
		from, err = sqsqueue.RedriveTarget(ctx, api, src, 0)
	} else {
		from, err = sqsqueue.ResolveURL(ctx, api, from, 0)
	}
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc redrive: %v\n", err)
		return 1
	}
	if from == src {
		fmt.Fprintln(env.stderr, "eventproc redrive: the dead-letter queue and the queue are the same")
		return 2
	}

	verb := "moving"
	if *dryRun {
		verb = "would move"
	}
	lastProgress := time.Now()
	opts := sqsqueue.RedriveOptions{
		Limit:  *limit,
		DryRun: *dryRun,
		Hold:   *hold,
		Match: func(m sqsqueue.DeadLetterMessage) bool {
			return (*typ == "" || m.Attributes["event_type"] == *typ) &&
				(*outcome == "" || m.Attributes["outcome"] == *outcome) &&
				(*reason == "" || strings.Contains(m.Attributes["error"], *reason))
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
	mode := ""
	if *dryRun {
		mode = " (dry run)"
	}
	fmt.Fprintf(env.stderr, "redrive: from %s to %s%s\n", from, src, mode)
	res, err := sqsqueue.Redrive(ctx, api, from, src, opts)
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
