package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The engine's commands, through Run in-process and through the real binary.

func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, []string{"PATH=/usr/bin"}, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// brokenRules writes a copy of the shipped events.d with one file replaced.
func brokenRules(t *testing.T, name, content string) string {
	t.Helper()
	dir := copyEventsD(t)
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCheckShipped(t *testing.T) {
	code, out, errs := runCLI(t, "", "check", "--rules", "events.d")
	if code != 0 || out != "" {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	if !strings.Contains(errs, "0 failed; 0 errors") {
		t.Errorf("summary: %s", errs)
	}
}

func TestCheckReportsEveryProblem(t *testing.T) {
	dir := brokenRules(t, "order.placed.yaml", `type: order.placed
versions:
  v1:
    fields:
      total: {type: number, requird: true}
    rules:
      - id: typo
        expr: body.totl > 0.0
      - id: concat
        expr: body.total + "x" == "y"
`)
	code, out, _ := runCLI(t, "", "check", "--rules", dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{
		dir + `/order.placed.yaml:5:29: unknown key "requird" in versions.v1.fields.total; did you mean "required"? [unknown-key]`,
		dir + `/order.placed.yaml:8:19: rule typo: undefined field 'totl'; did you mean "total"? [unknown-field]`,
		dir + `/order.placed.yaml:10:26: rule concat: found no matching overload for '_+_' applied to '(double, string)' [cel-type]`,
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("missing line\n%s\nin\n%s", want, out)
		}
	}
	// JSON format: the same diagnostics, machine-readable.
	code, out, _ = runCLI(t, "", "check", "--rules", dir, "--format", "json")
	var doc struct {
		Diagnostics []jsonDiag `json:"diagnostics"`
		Errors      int        `json:"errors"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 1 || doc.Errors < 3 {
		t.Fatalf("exit %d, err %v, doc %+v", code, err, doc)
	}
	if d := doc.Diagnostics[0]; d.Line == 0 || d.Col == 0 || d.Code == "" || d.Severity != "error" {
		t.Errorf("diagnostic %+v", d)
	}
}

func TestCheckFailingSuite(t *testing.T) {
	dir := brokenRules(t, "extra_test.yaml", `cases:
  - name: a wrong expectation
    raw: '{"event_id":"e","event_type":"order.placed","tenant_id":"t","client_id":"c","schema_version":"v1","occurred_at":"x","body":{"order_id":"o","user_id":"u","total":0,"items_count":1,"status":"s"}}'
    expect: valid
`)
	code, out, _ := runCLI(t, "", "check", "--rules", dir)
	if code != 1 || !strings.Contains(out, `extra_test.yaml:2:5: test "a wrong expectation": expected valid, got [body.total.gt on body.total: must be greater than 0] [test-failed]`) {
		t.Fatalf("exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "", "test", "--rules", dir)
	if code != 1 || !strings.Contains(out, "FAIL "+dir+"/extra_test.yaml:2: a wrong expectation:") || !strings.Contains(out, "1 failed") {
		t.Fatalf("exit %d\n%s", code, out)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"nope"},
		{"check", "--format", "xml"},
		{"check", "--bogus"},
		{"check", "extra"},
		{"check", "--rules", "/does/not/exist"},
		{"validate", "--rules", "/does/not/exist"},
		{"test", "--rules", "/does/not/exist"},
	} {
		if code, _, _ := runCLI(t, "", args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if code, _, errs := runCLI(t, "", "check", "-h"); code != 0 || !strings.Contains(errs, "--format") {
		t.Errorf("check -h: exit %d\n%s", code, errs)
	}
}

const validLine = `{"event_id":"6f1c","event_type":"order.placed","tenant_id":"t7","client_id":"c42","schema_version":"v1","occurred_at":"2026-02-04T14:00:15-03:00","body":{"order_id":"ord-1","user_id":"u-1","total":100.50,"items_count":2,"status":"confirmed"}}`

func TestValidate(t *testing.T) {
	code, out, _ := runCLI(t, validLine+"\n"+validLine+"\n", "validate")
	if code != 0 || strings.Count(out, `"valid":true`) != 2 || !strings.Contains(out, `"key":{"pk":"t7#6f1c"}`) {
		t.Fatalf("exit %d\n%s", code, out)
	}
	in := strings.Join([]string{
		validLine,
		`not json`,
		`{"event_id":"e","event_type":"nope","tenant_id":"t","client_id":"c","schema_version":"v1","occurred_at":"x","body":{}}`,
		strings.Replace(validLine, `"total":100.50`, `"total":-1`, 1),
		"",
	}, "\n") + "\n" + "{\"event_id\":\"\xff\"}"
	code, out, _ = runCLI(t, in, "validate", "-")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d verdicts for 5 non-blank lines:\n%s", len(lines), out)
	}
	type verdict struct {
		Line       int              `json:"line"`
		Valid      bool             `json:"valid"`
		EventType  string           `json:"event_type"`
		Key        map[string]any   `json:"key"`
		Violations []map[string]any `json:"violations"`
		Error      string           `json:"error"`
	}
	var vs []verdict
	for _, l := range lines {
		var v verdict
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		vs = append(vs, v)
	}
	for i, v := range vs {
		if want := []int{1, 2, 3, 4, 6}[i]; v.Line != want { // line 5 is blank
			t.Errorf("verdict %d has line %d, want %d", i, v.Line, want)
		}
	}
	if !vs[0].Valid || vs[1].Valid || !strings.Contains(vs[1].Error, "not a JSON object") ||
		!strings.Contains(vs[2].Error, `unknown event type "nope"`) || vs[2].Key != nil ||
		len(vs[3].Violations) != 1 || vs[3].Violations[0]["rule"] != "body.total.gt" || vs[3].Violations[0]["field"] != "body.total" ||
		!strings.Contains(vs[4].Error, "invalid UTF-8") {
		t.Errorf("verdicts:\n%s", out)
	}
}

// TestValidateBlankLinesAndSummary: blank lines (nothing but spaces, tabs and a CR)
// get no verdict but keep the numbering; stdout holds only verdicts, and the counts,
// blank lines included, go to stderr once for all the inputs.
func TestValidateBlankLinesAndSummary(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.ndjson")
	if err := os.WriteFile(a, []byte("\n"+validLine+"\r\n \t\r\nnope\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, validLine+"\n\n\n"+strings.Replace(validLine, `"total":100.50`, `"total":-1`, 1)+"\n  ", "validate", a, "-")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errs)
	}
	want := `{"line":2,"valid":true,"event_type":"order.placed","schema_version":"v1","event_id":"6f1c","key":{"pk":"t7#6f1c"}}
{"line":4,"valid":false,"error":"undecodable message at byte 0: the message is not a JSON object"}
{"line":5,"valid":true,"event_type":"order.placed","schema_version":"v1","event_id":"6f1c","key":{"pk":"t7#6f1c"}}
{"line":8,"valid":false,"event_type":"order.placed","schema_version":"v1","event_id":"6f1c","violations":[{"rule":"body.total.gt","field":"body.total","message":"must be greater than 0"}]}
`
	if out != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
	}
	if errs != "4 events: 2 valid, 2 invalid; 5 blank lines skipped\n" {
		t.Errorf("stderr: %q", errs)
	}
	code, out, errs = runCLI(t, "\n\n", "validate")
	if code != 0 || out != "" || errs != "0 events: 0 valid, 0 invalid; 2 blank lines skipped\n" {
		t.Errorf("only blank lines: exit %d\nstdout: %q\nstderr: %q", code, out, errs)
	}
}

func TestValidateFilesAndLongLines(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.ndjson")
	long := `{"x":"` + strings.Repeat("y", 2<<20) + `"}`
	if err := os.WriteFile(a, []byte(validLine+"\n"+long+"\n"+validLine), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI(t, validLine+"\n", "validate", a, "-")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 1 || len(lines) != 4 || !strings.Contains(lines[1], "line longer than") || !strings.Contains(lines[2], `"line":3,"valid":true`) || !strings.Contains(lines[3], `"line":4,"valid":true`) {
		t.Fatalf("exit %d\n%.2000s", code, out)
	}
}

// TestAppendJSONString: the hand-written encoder of validate's output reads back as
// the string it encoded (invalid UTF-8 as U+FFFD, byte by byte).
func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " and \ back`, "tab\tnew\nline\r\x00\x1f\x7f", "é😀", "bad \xff\xfe end", "<html>&"} {
		var got string
		if err := json.Unmarshal(appendJSONString(nil, s), &got); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if want := strings.ToValidUTF8(s, "\uFFFD\uFFFD"); got != want && got != strings.ToValidUTF8(s, "\uFFFD") {
			t.Errorf("%q read back as %q", s, got)
		}
	}
}

func TestDiff(t *testing.T) {
	newDir := brokenRules(t, "payment.processed.yaml", `type: payment.processed
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
		validLine,                 // another type: unchanged
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
	code, out, errs := runCLI(t, validLine+"\n", "diff", "--old-ref", "HEAD", "--new", rules, "-")
	if code != 1 || !strings.Contains(out, "-:1: order.placed v1 6f1c: valid → invalid; newly failing: body.total.gt") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
}

// TestDiffOldRefGitMessage: a ref git does not know, or a directory outside a
// repository, is reported with git's own message.
func TestDiffOldRefGitMessage(t *testing.T) {
	rules := rulesRepo(t)
	code, _, errs := runCLI(t, validLine+"\n", "diff", "--old-ref", "nosuchref", "--new", rules, "-")
	if code != 2 || !strings.Contains(errs, "eventproc diff: --old-ref nosuchref: git: fatal: Not a valid object name nosuchref") {
		t.Errorf("unknown ref: exit %d\n%s", code, errs)
	}
	code, _, errs = runCLI(t, validLine+"\n", "diff", "--old-ref", "HEAD", "--new", t.TempDir(), "-")
	if code != 2 || !strings.Contains(errs, "not in a git work tree: git: fatal: not a git repository") {
		t.Errorf("no repository: exit %d\n%s", code, errs)
	}
}

func TestSchemaCommand(t *testing.T) {
	code, out, _ := runCLI(t, "", "schema")
	var v map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v["$schema"] == nil {
		t.Fatalf("exit %d\n%.200s", code, out)
	}
}

// inheritedNew adds a constraint that does not apply to order.placed v1, which v2
// extends: one problem, so one diagnostic (inheritedMsg) and one error, whichever
// command reports it.
const (
	inheritedOld = "total:       {type: number, required: true, gt: 0}"
	inheritedNew = `total:       {type: number, required: true, gt: 0, pattern: "x"}`
	inheritedMsg = `/order.placed.yaml:19:67: body.total: pattern applies to string fields, not to number [constraint-type]`
)

func TestCommandsCountEachProblemOnce(t *testing.T) {
	dir := copyEventsD(t)
	editFile(t, filepath.Join(dir, "order.placed.yaml"), inheritedOld, inheritedNew)
	want := dir + inheritedMsg + "\n"

	code, out, errs := runCLI(t, "", "check", "--rules", dir)
	if code != 1 || out != want || errs != "1 errors, 0 warnings\n" {
		t.Errorf("check: exit %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", code, out, want, errs)
	}

	code, out, _ = runCLI(t, "", "check", "--rules", dir, "--format", "json")
	var doc struct {
		Diagnostics []jsonDiag `json:"diagnostics"`
		Errors      int        `json:"errors"`
		Warnings    int        `json:"warnings"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 1 || doc.Errors != 1 || doc.Warnings != 0 || len(doc.Diagnostics) != 1 {
		t.Errorf("check --format json: exit %d, err %v\n%s", code, err, out)
	}

	code, _, errs = runCLI(t, "", "test", "--rules", dir)
	if code != 2 || strings.Count(errs, inheritedMsg) != 1 {
		t.Errorf("test: exit %d\nstderr:\n%s", code, errs)
	}

	code, _, errs = runCLI(t, "", "run", "--queue-url", "http://q", "--rules", dir)
	if code != 1 || strings.Count(errs, inheritedMsg) != 1 || !strings.Contains(errs, "has errors: 1 errors, 0 warnings") {
		t.Errorf("run: exit %d\nstderr:\n%s", code, errs)
	}
}
