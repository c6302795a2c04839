package cli

import (
	"eventproc/internal/fixture"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	newDir := fixture.BrokenRules(t, "payment.processed.yaml", `type: payment.processed
versions:
  v1:
    fields:
      payment_id:     {type: string, required: true, min_length: 1}
      order_id:       {type: string, required: true, min_length: 1}
      amount:         {type: number, required: true, gt: 0, max: 1000}
      payment_method: {type: string, required: true, enum: [card, pix]}
      status:         {type: string, required: true}
`)
	pay := func(amount, method, status string) string {
		return `{"event_id":"p-` + amount + `","event_type":"payment.processed","tenant_id":"t","client_id":"c","schema_version":"v1","occurred_at":"x","body":{"payment_id":"p","order_id":"o","amount":` + amount + `,"payment_method":"` + method + `","status":"` + status + `"}}`
	}
	corpus := filepath.Join(t.TempDir(), "corpus.ndjson")
	lines := []string{
		pay("10", "card", "ok"),   // unchanged valid
		pay("5000", "card", "ok"), // valid → invalid (max)
		pay("10", "cash", "ok"),   // valid → invalid (enum)
		pay("10", "card", ""),     // invalid → valid (min_length removed)
		pay("0", "card", "ok"),    // unchanged invalid
		fixture.ValidLine,         // another type: unchanged
	}
	if err := os.WriteFile(corpus, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "", "diff", "--old", "events.d", "--new", newDir, corpus)
	if code != 1 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{
		corpus + ":2: payment.processed v1 p-5000: valid → invalid; newly failing: body.amount.max\n",
		corpus + ":3: payment.processed v1 p-10: valid → invalid; newly failing: body.payment_method.enum\n",
		corpus + ":4: payment.processed v1 p-10: invalid → valid; newly passing: body.status.min_length\n",
		"6 messages, 3 with a changed verdict",
		"body.amount.max           1\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, corpus+":1:") || strings.Contains(out, corpus+":5:") || strings.Contains(out, corpus+":6:") {
		t.Errorf("unchanged lines printed:\n%s", out)
	}
	// The same rules on both sides: nothing changes, exit 0.
	if code, out, _ := runCLI(t, "", "diff", "--old", "events.d", "--new", "events.d", corpus); code != 0 || !strings.Contains(out, "0 with a changed verdict") {
		t.Errorf("exit %d\n%s", code, out)
	}
	if code, _, _ := runCLI(t, "", "diff", "--new", newDir, corpus); code != 2 {
		t.Errorf("no --old: exit %d, want 2", code)
	}
}

// rulesRepo makes a git repository whose one commit holds the shipped events.d as
// rules/, and returns that directory.
func rulesRepo(t *testing.T) string {
	t.Helper()
	repo := t.TempDir()
	rules := filepath.Join(repo, "rules")
	gitRun := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-C", repo, "-c", "user.email=t@t", "-c", "user.name=t"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	gitRun("init", "-q")
	if err := os.CopyFS(rules, os.DirFS("events.d")); err != nil {
		t.Fatal(err)
	}
	gitRun("add", ".")
	gitRun("commit", "-qm", "rules")
	return rules
}

// TestDiffOldRef takes the old rules from a git commit.
func TestDiffOldRef(t *testing.T) {
	rules := rulesRepo(t)
	// Tighten order.placed v1 in the work tree.
	p := filepath.Join(rules, "order.placed.yaml")
	b, _ := os.ReadFile(p)
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), "total:       {type: number, required: true, gt: 0}", "total:       {type: number, required: true, gt: 200}", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, fixture.ValidLine+"\n", "diff", "--old-ref", "HEAD", "--new", rules, "-")
	if code != 1 || !strings.Contains(out, "-:1: order.placed v1 6f1c: valid → invalid; newly failing: body.total.gt") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
}

// TestDiffOldRefGitMessage: a ref git does not know, or a directory outside a
// repository, is reported with git's own message.
func TestDiffOldRefGitMessage(t *testing.T) {
	rules := rulesRepo(t)
	code, _, errs := runCLI(t, fixture.ValidLine+"\n", "diff", "--old-ref", "nosuchref", "--new", rules, "-")
	if code != 2 || !strings.Contains(errs, "eventproc diff: --old-ref nosuchref: git: fatal: Not a valid object name nosuchref") {
		t.Errorf("unknown ref: exit %d\n%s", code, errs)
	}
	code, _, errs = runCLI(t, fixture.ValidLine+"\n", "diff", "--old-ref", "HEAD", "--new", t.TempDir(), "-")
	if code != 2 || !strings.Contains(errs, "not in a git work tree: git: fatal: not a git repository") {
		t.Errorf("no repository: exit %d\n%s", code, errs)
	}
}
