package main

import (
	"strings"
	"testing"
)

// TestRedriveUsage: usage errors exit 2 before any AWS call.
func TestRedriveUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"redrive"}, "--queue is required"},
		{[]string{"redrive", "--queue", "q", "--limit", "-1"}, "--limit must not be negative"},
		{[]string{"redrive", "--queue", "q", "extra"}, "unexpected argument"},
		{[]string{"redrive", "--bogus"}, "flag provided but not defined"},
	} {
		code, _, errOut := runCLI(t, "", tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
	if code, _, errOut := runCLI(t, "", "redrive", "-h"); code != 0 || !strings.Contains(errOut, "--dry-run") {
		t.Errorf("redrive -h: exit %d, %q", code, errOut)
	}
}

func TestFormatAttrs(t *testing.T) {
	got := formatAttrs(map[string]string{"error": "retryable: boom", "outcome": "exhausted", "zz": "1", "attempts": "3"})
	want := ` outcome=exhausted attempts=3 error="retryable: boom" zz=1`
	if got != want {
		t.Errorf("formatAttrs = %q, want %q", got, want)
	}
}
