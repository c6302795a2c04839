package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `eventproc run` exit codes and messages that need no AWS: usage and configuration
// errors (2), rules that do not load (1, every diagnostic printed).
func TestRunUsageAndConfigErrors(t *testing.T) {
	badRules := t.TempDir()
	if err := os.WriteFile(filepath.Join(badRules, "envelope.yaml"), []byte("envelope: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// An empty configuration file of the test's own, whatever the working directory holds.
	empty := filepath.Join(t.TempDir(), "eventproc.yaml")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		args    []string
		environ []string
		code    int
		want    []string
	}{
		{"help", []string{"run", "-h"}, nil, 0, []string{"usage: eventproc run", "-max-in-flight", "EVENTPROC_MAX_IN_FLIGHT", "(default 1000)"}},
		{"unknown flag", []string{"run", "--wokers", "3"}, nil, 2, []string{"flag provided but not defined: -wokers"}},
		{"argument", []string{"run", "--queue-url", "http://q", "extra"}, nil, 2, []string{`unexpected argument "extra"`}},
		{"no queue", []string{"run"}, nil, 2, []string{"no queue to consume"}},
		{"every bad value", []string{"run", "--queue-url", "http://q", "--workers", "x", "--grace-period", "soon"},
			[]string{"EVENTPROC_LOG_LEVL=debug"}, 2, []string{
				"3 problems", `--workers="x": not an integer`, `--grace-period="soon": not a duration`,
				`unknown environment variable EVENTPROC_LOG_LEVL (did you mean "EVENTPROC_LOG_LEVEL"?)`}},
		{"missing rules", []string{"run", "--queue-url", "http://q", "--rules", filepath.Join(badRules, "nope")}, nil, 1, []string{
			"rules do not load", "no such file"}},
		{"unknown envelope", []string{"run", "--queue-url", "http://q", "--rules", "events.d"}, []string{"EVENTPROC_ENVELOPE=nope"}, 1, []string{
			"[unknown-envelope]", "rules do not load"}},
		{"rules with errors", []string{"run", "--queue-url", "http://q", "--rules", badRules}, nil, 1, []string{
			badRules + "/envelope.yaml:", "[yaml-syntax]", "rules do not load"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			env := append([]string{"PATH=/usr/bin", "EVENTPROC_CONFIG=" + empty}, tt.environ...)
			code := Run(context.Background(), tt.args, env, strings.NewReader(""), &out, &errb)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstderr:\n%s", code, tt.code, errb.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(errb.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errb.String())
				}
			}
		})
	}
}
