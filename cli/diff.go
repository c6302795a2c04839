package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"eventproc/engine"
)

// eventproc diff: a corpus of real messages evaluated under two rule sets; every
// message whose verdict changes is printed, then a summary.

// diffFlags are diff's parsed flags and its corpus files.
type diffFlags struct {
	oldDir, oldRef, newDir, envelope string
	transport                        engine.Transport
	corpora                          []string
}

func cmdDiff(ctx context.Context, env *cmdEnv, args []string) int {
	f, code, ok := parseDiffFlags(env, args)
	if !ok {
		return code
	}
	if f.oldRef != "" {
		dir, cleanup, err := checkoutRules(ctx, f.oldRef, f.newDir)
		if err != nil {
			fmt.Fprintf(env.stderr, "eventproc diff: %v\n", err)
			return 2
		}
		defer cleanup()
		f.oldDir = dir
	}
	oldRS, newRS := loadDiffRules(env, "old", f.oldDir, f.envelope), loadDiffRules(env, "new", f.newDir, f.envelope)
	if oldRS == nil || newRS == nil {
		return 2
	}
	return runDiff(ctx, env, oldRS, newRS, f.transport, f.corpora)
}

// parseDiffFlags parses diff's arguments; when ok is false, code is the exit code.
func parseDiffFlags(env *cmdEnv, args []string) (f diffFlags, code int, ok bool) {
	fs := newFlagSet("diff", env, "(--old DIR | --old-ref GITREF) [--new DIR | --rules DIR] [--envelope NAME] [--transport auto|raw|sns] CORPUS.ndjson ...   (- for stdin)")
	oldDir := fs.String("old", "", "the old events.d `directory`")
	oldRef := fs.String("old-ref", "", "take the old events.d from this git `ref` (the --new directory's path at that commit)")
	newDir := rulesFlag(fs, env)
	fs.Lookup("rules").Usage = "the new events.d `directory`"
	fs.StringVar(newDir, "new", *newDir, "the new events.d `directory` (same as --rules)")
	envelope := envelopeFlag(fs, env)
	transport := transportFlag(fs)
	if code, ok := parseFlags(fs, args); !ok {
		return f, code, false
	}
	if misplacedRules(env, fs, fs.Args()) {
		return f, 2, false
	}
	if (*oldDir == "") == (*oldRef == "") {
		fmt.Fprintln(env.stderr, "eventproc diff: give exactly one of --old DIR and --old-ref GITREF")
		return f, 2, false
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(env.stderr, "eventproc diff: name a corpus file (NDJSON, one message body per line; - for stdin)")
		return f, 2, false
	}
	return diffFlags{oldDir: *oldDir, oldRef: *oldRef, newDir: *newDir, envelope: *envelope, transport: *transport, corpora: fs.Args()}, 0, true
}

// loadDiffRules loads the which ("old" or "new") rules; nil when they do not load (the
// reason is printed).
func loadDiffRules(env *cmdEnv, which, dir, envelope string) *engine.Ruleset {
	rs, diags, err := engine.LoadDir(dir, engine.WithEnvelope(envelope))
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc diff: %s rules: %v\n", which, err)
		return nil
	}
	if rs == nil {
		for _, d := range diags {
			fmt.Fprintln(env.stderr, d.String())
		}
		fmt.Fprintf(env.stderr, "eventproc diff: the %s rules do not load\n", which)
	}
	return rs
}

// runDiff evaluates every corpus under both rule sets, prints the changed verdicts and
// the summary, and returns the exit code: 1 when a verdict changed.
func runDiff(ctx context.Context, env *cmdEnv, oldRS, newRS *engine.Ruleset, transport engine.Transport, corpora []string) int {
	out := bufio.NewWriterSize(env.stdout, 64<<10)
	defer out.Flush()
	d := &differ{old: oldRS, new: newRS, transport: engine.WithTransport(transport), out: out, transitions: map[string]int{}, newlyFailing: map[string]int{}, newlyPassing: map[string]int{}}
	for _, name := range corpora {
		var r io.Reader = env.stdin
		if name != "-" {
			f, err := os.Open(name)
			if err != nil {
				fmt.Fprintf(env.stderr, "eventproc diff: %v\n", err)
				return 2
			}
			defer f.Close()
			r = f
		}
		if err := d.stream(ctx, name, r); err != nil {
			out.Flush()
			fmt.Fprintf(env.stderr, "eventproc diff: %s: %v\n", name, err)
			return 2
		}
	}
	d.summary()
	if err := out.Flush(); err != nil {
		fmt.Fprintf(env.stderr, "eventproc diff: %v\n", err)
		return 2
	}
	if d.changed > 0 {
		return 1
	}
	return 0
}

// checkoutRules writes the rules directory dir as it is at git ref into a temporary
// directory.
func checkoutRules(ctx context.Context, ref, dir string) (string, func(), error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", nil, err
	}
	top, err := git(ctx, "-C", abs, "rev-parse", "--show-toplevel")
	if err != nil {
		return "", nil, fmt.Errorf("--old-ref: %s is not in a git work tree: %w", dir, err)
	}
	root := strings.TrimSpace(string(top))
	rel, err := filepath.Rel(root, abs)
	if err != nil {
		return "", nil, err
	}
	list, err := git(ctx, "-C", root, "ls-tree", "-r", "--name-only", ref, "--", rel)
	if err != nil {
		return "", nil, fmt.Errorf("--old-ref %s: %w", ref, err)
	}
	tmp, err := os.MkdirTemp("", "eventproc-diff-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	files := strings.Fields(string(list))
	if len(files) == 0 {
		cleanup()
		return "", nil, fmt.Errorf("--old-ref %s: no %s there", ref, rel)
	}
	for _, f := range files {
		b, err := git(ctx, "-C", root, "show", ref+":"+f)
		if err != nil {
			cleanup()
			return "", nil, fmt.Errorf("--old-ref %s: git show %s: %w", ref, f, err)
		}
		p := filepath.Join(tmp, strings.TrimPrefix(strings.TrimPrefix(f, rel), "/"))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			cleanup()
			return "", nil, err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			cleanup()
			return "", nil, err
		}
	}
	return tmp, cleanup, nil
}

// git runs git with args and returns its standard output. When git fails, the error is
// what git said on its standard error ("fatal: Not a valid object name nosuchref"),
// else how it ended.
func git(ctx context.Context, args ...string) ([]byte, error) {
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return nil, fmt.Errorf("git: %s", strings.ReplaceAll(msg, "\n", "; "))
		}
		return nil, fmt.Errorf("git: %w", err)
	}
	return out, nil
}

type differ struct {
	old, new     *engine.Ruleset
	transport    engine.EvalOption // how the corpus's bodies carry their events
	out          *bufio.Writer
	total        int
	changed      int
	transitions  map[string]int // "valid → invalid" → count
	newlyFailing map[string]int // rule → count
	newlyPassing map[string]int
}

// verdictSummary is what the comparison looks at: the outcome, the failing rules and
// warnings (or the kind of error), and a valid event's table, key and attributes (a
// changed key breaks idempotency).
type verdictSummary struct {
	state   string   // valid, invalid, rule_failed
	rules   []string // violated rule ids, "(warning) id", or the kind of error
	persist string
}

func summarize(v *engine.Verdict) verdictSummary {
	s := verdictSummary{state: v.Outcome.String()}
	for _, x := range v.Violations {
		s.rules = append(s.rules, x.Rule)
	}
	for _, x := range v.Warnings {
		s.rules = append(s.rules, "(warning) "+x.Rule)
	}
	if v.Err != nil && len(v.Violations) == 0 {
		var ue *engine.UnknownTypeError
		var de *engine.DecodeError
		var re *engine.RuleError
		switch {
		case errors.As(v.Err, &ue) && ue.Version != "":
			s.rules = append(s.rules, "(unknown version)")
		case errors.As(v.Err, &ue):
			s.rules = append(s.rules, "(unknown type)")
		case errors.As(v.Err, &de):
			s.rules = append(s.rules, "(undecodable)")
		case errors.As(v.Err, &re):
			s.rules = append(s.rules, "(rule "+re.Rule+" failed to evaluate)")
		default:
			s.rules = append(s.rules, "("+v.Err.Error()+")")
		}
	}
	sort.Strings(s.rules)
	if p := v.Persist; p != nil {
		s.persist = fmt.Sprintf("table %s key %v attributes %v", p.Table, p.Key, p.Attributes)
	}
	return s
}

func (d *differ) stream(ctx context.Context, name string, r io.Reader) error {
	line := 0
	return forEachLine(ctx, r, func(body string, tooLong bool) {
		line++
		if tooLong {
			fmt.Fprintf(d.out, "%s:%d: skipped: longer than %d bytes\n", name, line, maxLine-1)
			return
		}
		d.compare(ctx, name, line, body)
	})
}

func (d *differ) compare(ctx context.Context, name string, line int, body string) {
	d.total++
	ov, nv := d.old.Evaluate(ctx, body, d.transport), d.new.Evaluate(ctx, body, d.transport)
	o, n := summarize(ov), summarize(nv)
	transition := o.state + " → " + n.state
	same := o.state == n.state && strings.Join(o.rules, ",") == strings.Join(n.rules, ",") && o.persist == n.persist
	if same {
		d.transitions[transition+" (unchanged)"]++
		return
	}
	d.changed++
	d.transitions[transition]++
	failing, passing := setMinus(n.rules, o.rules), setMinus(o.rules, n.rules)
	for _, r := range failing {
		d.newlyFailing[r]++
	}
	for _, r := range passing {
		d.newlyPassing[r]++
	}
	id := nv.EventType + " " + nv.Version + " " + nv.EventID
	fmt.Fprintf(d.out, "%s:%d: %s: %s", name, line, strings.TrimSpace(id), transition)
	if len(failing) > 0 {
		fmt.Fprintf(d.out, "; newly failing: %s", strings.Join(failing, ", "))
	}
	if len(passing) > 0 {
		fmt.Fprintf(d.out, "; newly passing: %s", strings.Join(passing, ", "))
	}
	if o.persist != n.persist && o.persist != "" && n.persist != "" {
		fmt.Fprintf(d.out, "; storage changes from %s to %s", o.persist, n.persist)
	}
	fmt.Fprintln(d.out)
}

func setMinus(a, b []string) []string {
	in := map[string]bool{}
	for _, x := range b {
		in[x] = true
	}
	var out []string
	for _, x := range a {
		if !in[x] {
			out = append(out, x)
		}
	}
	return out
}

func (d *differ) summary() {
	fmt.Fprintf(d.out, "\n%d messages, %d with a changed verdict\n\n", d.total, d.changed)
	tw := tabwriter.NewWriter(d.out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "old → new\tmessages")
	keys := make([]string, 0, len(d.transitions))
	for k := range d.transitions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%d\n", k, d.transitions[k])
	}
	tw.Flush()
	for _, part := range []struct {
		title string
		m     map[string]int
	}{{"newly failing rule", d.newlyFailing}, {"newly passing rule", d.newlyPassing}} {
		if len(part.m) == 0 {
			continue
		}
		fmt.Fprintln(d.out)
		tw := tabwriter.NewWriter(d.out, 2, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "%s\tmessages\n", part.title)
		rules := make([]string, 0, len(part.m))
		for r := range part.m {
			rules = append(rules, r)
		}
		sort.Slice(rules, func(i, j int) bool {
			if part.m[rules[i]] != part.m[rules[j]] {
				return part.m[rules[i]] > part.m[rules[j]]
			}
			return rules[i] < rules[j]
		})
		for _, r := range rules {
			fmt.Fprintf(tw, "%s\t%d\n", r, part.m[r])
		}
		tw.Flush()
	}
}
