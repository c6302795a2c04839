package cli

import (
	"encoding/json"
	"eventproc/internal/fixture"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	code, out, _ := runCLI(t, fixture.ValidLine+"\n"+fixture.ValidLine+"\n", "validate")
	if code != 0 || strings.Count(out, `"valid":true`) != 2 || !strings.Contains(out, `"key":{"pk":"t7#6f1c"}`) {
		t.Fatalf("exit %d\n%s", code, out)
	}
	in := strings.Join([]string{
		fixture.ValidLine,
		`not json`,
		`{"event_id":"e","event_type":"nope","tenant_id":"t","client_id":"c","schema_version":"v1","occurred_at":"x","body":{}}`,
		strings.Replace(fixture.ValidLine, `"total":100.50`, `"total":-1`, 1),
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
	if err := os.WriteFile(a, []byte("\n"+fixture.ValidLine+"\r\n \t\r\nnope\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, fixture.ValidLine+"\n\n\n"+strings.Replace(fixture.ValidLine, `"total":100.50`, `"total":-1`, 1)+"\n  ", "validate", a, "-")
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
	if err := os.WriteFile(a, []byte(fixture.ValidLine+"\n"+long+"\n"+fixture.ValidLine), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI(t, fixture.ValidLine+"\n", "validate", a, "-")
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
