package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestConfigCommand: eventproc config shows defaults < file < env < flags key by key,
// with each value's origin, secrets redacted, as text and JSON; configuration errors
// exit 2 with every problem. Each case has its own environment, never the process's.
func TestConfigCommand(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "prod.yaml")
	if err := os.WriteFile(file, []byte(`queue_url: https://AKIDEXAMPLE:wJalrXUtnFEMI@sqs.eu-west-1.amazonaws.com/123456789012/events?X-Amz-Security-Token=FwoGZXIvYXdzEXAMPLE
workers: 9
log:
  level: warn
  format: text
`), 0o644); err != nil {
		t.Fatal(err)
	}
	cli := func(environ []string, args ...string) (int, string, string) {
		var out, errb strings.Builder
		code := Run(context.Background(), append([]string{"config"}, args...), append([]string{"PATH=/usr/bin"}, environ...),
			strings.NewReader(""), &out, &errb)
		return code, out.String(), errb.String()
	}
	row := func(out, key string) []string {
		for _, line := range strings.Split(out, "\n") {
			f := regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(line), -1)
			if len(f) >= 3 && f[0] == key {
				return f[1:]
			}
		}
		return nil
	}

	code, out, errs := cli([]string{"EVENTPROC_LOG_LEVEL=debug", "EVENTPROC_WORKERS=10", "EVENTPROC_CONCURRENCY=2"},
		"--config", file, "--workers", "12", "--http-addr", "")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	for key, want := range map[string][]string{
		"workers":       {"12", "--workers"},
		"log.level":     {"debug", "EVENTPROC_LOG_LEVEL"},
		"log.format":    {"text", file},
		"concurrency":   {"2", "EVENTPROC_CONCURRENCY"},
		"max_in_flight": {"1000", "default"},
		"http.addr":     {`""`, "--http-addr"},
		"envelope":      {"-", "unset"},
		"queue_url":     {"https://REDACTED@sqs.eu-west-1.amazonaws.com/123456789012/events?X-Amz-Security-Token=REDACTED", file},
		"sources":       {"https://REDACTED@sqs.eu-west-1.amazonaws.com/123456789012/events?X-Amz-Security-Token=REDACTED=2", "queue_url (" + file + ")"},
	} {
		if got := row(out, key); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s: %q, want %q\n%s", key, got, want, out)
		}
	}
	if !strings.HasPrefix(out, "# configuration file: "+file+"\n") {
		t.Errorf("no file line:\n%s", out)
	}
	for _, secret := range []string{"AKIDEXAMPLE", "wJalrXUtnFEMI", "FwoGZXIvYXdzEXAMPLE"} {
		if strings.Contains(out+errs, secret) {
			t.Errorf("secret %q printed:\n%s", secret, out)
		}
	}

	// $EVENTPROC_CONFIG names the file; --format json; sources from a flag override the
	// file's queue_url, which says so.
	code, out, errs = cli([]string{"EVENTPROC_CONFIG=" + file}, "--format", "json", "--sources", "https://sqs.x/1/a=3,https://sqs.x/1/b")
	if code != 0 {
		t.Fatalf("json: exit %d\n%s%s", code, out, errs)
	}
	var doc struct {
		File     string
		Settings []struct{ Key, Value, Origin, Env, Flag string }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	got := map[string]string{}
	for _, s := range doc.Settings {
		got[s.Key] = s.Value + " | " + s.Origin + " | " + s.Env + " | " + s.Flag
	}
	if doc.File != file || got["sources"] != "https://sqs.x/1/a=3,https://sqs.x/1/b=4 | --sources | EVENTPROC_SOURCES | --sources" ||
		!strings.HasSuffix(got["queue_url"], " | "+file+" (overridden by sources) | EVENTPROC_QUEUE_URL | --queue-url") ||
		got["workers"] != "9 | "+file+" | EVENTPROC_WORKERS | --workers" {
		t.Errorf("json: file %q, settings %v", doc.File, got)
	}

	// Every problem, exit 2, under the table of what could be read.
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("queue_url: q\nworkrs: 3\nlog: {level: loud}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs = cli([]string{"EVENTPROC_GRACE_PERIOD=soon"}, "--config", bad, "--max-in-flight", "1")
	if code != 2 || strings.Join(row(out, "queue_url"), "|") != "q|"+bad || strings.Join(row(out, "grace_period"), "|") != "30s|default" {
		t.Fatalf("errors: exit %d, stdout:\n%s", code, out)
	}
	for _, w := range []string{"4 problems", `unknown key "workrs" (did you mean "workers"?)`, `"loud" is not one of`,
		`EVENTPROC_GRACE_PERIOD="soon": not a duration`, "max_in_flight (--max-in-flight): 1 is out of range"} {
		if !strings.Contains(errs, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errs)
		}
	}

	// No queue: the table all the same, the problem under it; in JSON, its problems.
	empty := filepath.Join(dir, "empty.yaml")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs = cli([]string{"EVENTPROC_CONFIG=" + empty, "EVENTPROC_HTTP_ADDR=:9191"})
	if code != 2 || strings.Join(row(out, "queue_url"), "|") != "-|unset" || strings.Join(row(out, "http.addr"), "|") != ":9191|EVENTPROC_HTTP_ADDR" ||
		!strings.Contains(errs, "no queue to consume") {
		t.Errorf("no queue: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	code, out, _ = cli([]string{"EVENTPROC_CONFIG=" + empty}, "--format", "json")
	var partial struct{ Problems []string }
	if err := json.Unmarshal([]byte(out), &partial); code != 2 || err != nil || len(partial.Problems) != 1 ||
		!strings.Contains(partial.Problems[0], "no queue to consume") {
		t.Errorf("no queue, json: exit %d, %v\n%s", code, err, out)
	}
	if code, _, _ := cli(nil, "--format", "yaml", "--queue-url", "q"); code != 2 {
		t.Errorf("--format yaml: exit %d, want 2", code)
	}
	if code, _, _ := cli(nil, "--config", filepath.Join(dir, "missing.yaml")); code != 2 {
		t.Errorf("missing file: exit %d, want 2", code)
	}
}
