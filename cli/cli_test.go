package cli

import (
	"encoding/json"
	"eventproc/internal/fixture"
	"path/filepath"
	"strings"
	"testing"
)

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

func TestCommandsCountEachProblemOnce(t *testing.T) {
	dir := fixture.CopyEventsD(t)
	fixture.EditFile(t, filepath.Join(dir, "order.placed.yaml"), fixture.InheritedOld, fixture.InheritedNew)
	want := dir + fixture.InheritedMsg + "\n"

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
	if code != 2 || strings.Count(errs, fixture.InheritedMsg) != 1 {
		t.Errorf("test: exit %d\nstderr:\n%s", code, errs)
	}

	code, _, errs = runCLI(t, "", "run", "--queue-url", "http://q", "--rules", dir)
	if code != 1 || strings.Count(errs, fixture.InheritedMsg) != 1 || !strings.Contains(errs, `"msg":"rules do not load"`) || !strings.Contains(errs, `"errors":1,"warnings":0`) {
		t.Errorf("run: exit %d\nstderr:\n%s", code, errs)
	}
}
