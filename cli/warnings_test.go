package cli

import (
	"bytes"
	"context"
	"eventproc/internal/fixture"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"eventproc/adapters/awstest"
)

// warnRules is a copy of the shipped events.d plus a type no test case sends: it loads
// with exactly one warning.
func warnRules(t *testing.T) string {
	t.Helper()
	return fixture.BrokenRules(t, "extra.yaml", `type: extra.thing
versions:
  v1:
    fields:
      x: {type: string, required: true}
`)
}

const untestedLine = `/extra.yaml:1:7: warning: event type "extra.thing" has no test case: add one to a suite (extra_test.yaml) [type-untested]`

// TestWarningsInFull: check and test print every warning in full.
func TestWarningsInFull(t *testing.T) {
	dir := warnRules(t)
	code, out, errs := runCLI(t, "", "check", "--rules", dir)
	if code != 0 || out != dir+untestedLine+"\n" || !strings.Contains(errs, "0 errors, 1 warnings") {
		t.Errorf("check: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	code, out, errs = runCLI(t, "", "test", "--rules", dir)
	if code != 0 || errs != dir+untestedLine+"\n" || !strings.Contains(out, "0 failed") {
		t.Errorf("test: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
}

// TestRunLogsRulesAsJSON: run writes only JSON log records: the warnings as one record
// that counts them, the errors of rules that do not load each as a record.
func TestRunLogsRulesAsJSON(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "eventproc.yaml")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	environ := []string{"PATH=/usr/bin", "EVENTPROC_CONFIG=" + empty, "AWS_REGION=" + awstest.Region,
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_EC2_METADATA_DISABLED=true"}
	runOnce := func(rules string) (int, string) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // stop as soon as the rules are loaded: nothing to consume
		var out, errb bytes.Buffer
		code := Run(ctx, []string{"run", "--queue-url", "http://127.0.0.1:1/q", "--rules", rules, "--http-addr", "127.0.0.1:0",
			"--log-format", "json"}, environ, strings.NewReader(""), &out, &errb)
		if out.Len() != 0 {
			t.Errorf("run wrote on stdout: %q", out.String())
		}
		return code, errb.String()
	}

	dir := warnRules(t)
	_, logs := runOnce(dir)
	var warned []map[string]any
	for _, r := range fixture.JSONLines(t, logs) {
		if strings.Contains(r["msg"].(string), "warning") {
			warned = append(warned, r)
		}
	}
	if len(warned) != 1 || warned[0]["level"] != "WARN" || warned[0]["warnings"] != 1.0 || warned[0]["rules"] != dir {
		t.Errorf("warning records %v\nlog:\n%s", warned, logs)
	}
	if strings.Contains(logs, "[type-untested]") {
		t.Errorf("run listed the warning itself:\n%s", logs)
	}

	bad := fixture.BrokenRules(t, "extra.yaml", "type: [\n")
	code, logs := runOnce(bad)
	if code != 1 {
		t.Errorf("exit %d with broken rules, want 1", code)
	}
	recs := fixture.JSONLines(t, logs)
	if len(recs) != 2 || recs[0]["msg"] != "rules: diagnostic" || !strings.Contains(recs[0]["diagnostic"].(string), "[yaml-syntax]") ||
		recs[1]["msg"] != "rules do not load" || recs[1]["errors"] != 1.0 {
		t.Errorf("records for broken rules:\n%s", logs)
	}
}

// TestAWSCommandsWarningsOneLine: provision, send and stats say in one line that the
// rules have warnings, and list none of them.
func TestAWSCommandsWarningsOneLine(t *testing.T) {
	dir := warnRules(t)
	e := awstest.Start(t)
	environ := fixture.AWSEnviron(e)
	queue := awstest.UniqueName("warn")
	want := "eventproc %s: " + dir + " has 1 warning; eventproc check --rules " + dir + " lists them\n"
	for _, args := range [][]string{
		{"provision", "--rules", dir, "--queue", queue},
		{"send", "--rules", dir, "--queue", queue, "--count", "3"},
		{"stats", "--rules", dir, "--queue", queue},
	} {
		code, _, errs := runCmd(t, environ, args...)
		if code != 0 {
			t.Fatalf("%s = %d: %s", args[0], code, errs)
		}
		line := strings.Replace(want, "%s", args[0], 1)
		var other []string
		for _, l := range strings.SplitAfter(errs, "\n") {
			if strings.Contains(l, "warning") && l != line {
				other = append(other, l)
			}
		}
		if !strings.Contains(errs, line) || len(other) > 0 {
			t.Errorf("%s: stderr\n%s\nwant the one line\n%s", args[0], errs, line)
		}
	}
}
