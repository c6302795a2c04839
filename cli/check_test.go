package cli

import (
	"encoding/json"
	"eventproc/internal/fixture"
	"strings"
	"testing"
)

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
	dir := fixture.BrokenRules(t, "order.placed.yaml", `type: order.placed
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
	dir := fixture.BrokenRules(t, "extra_test.yaml", `cases:
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
