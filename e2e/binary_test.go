package e2e

import (
	"bytes"
	"errors"
	"eventproc/internal/fixture"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestBinaryExitCodes(t *testing.T) {
	bin := binary(t)
	broken := fixture.BrokenRules(t, "bad.yaml", "type: [\n")
	for _, c := range []struct {
		args  []string
		stdin string
		code  int
		out   string
	}{
		{[]string{"check"}, "", 0, ""},
		{[]string{"check", "--rules", broken}, "", 1, "bad.yaml:1:7: this flow list is not closed: its closing ] is missing [yaml-syntax]"},
		{[]string{"check", "--format=yaml"}, "", 2, ""},
		{[]string{"test"}, "", 0, " passed, 0 failed"},
		{[]string{"validate"}, fixture.ValidLine + "\n", 0, `"valid":true`},
		{[]string{"validate"}, "nope\n", 1, `"valid":false`},
		{[]string{"validate", "--rules", broken}, "", 2, ""},
		{[]string{"version"}, "", 0, "eventproc "},
		{[]string{"frobnicate"}, "", 2, ""},
	} {
		cmd := exec.Command(bin, c.args...)
		cmd.Stdin = strings.NewReader(c.stdin)
		var out bytes.Buffer
		cmd.Stdout = &out
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != c.code || !strings.Contains(out.String(), c.out) {
			t.Errorf("eventproc %v: exit %d (want %d)\n%s", c.args, code, c.code, out.String())
		}
	}
}

// TestVersionStamp: the Makefile and the Dockerfile stamp the version with -ldflags -X on
// a variable that exists (an -X naming nothing is silently ignored): a binary built with
// their -X prints the version given.
func TestVersionStamp(t *testing.T) {
	for _, c := range []struct{ file, value string }{
		{"Makefile", "$(VERSION)"},
		{"Dockerfile", "${VERSION}"},
	} {
		t.Run(c.file, func(t *testing.T) {
			data, err := os.ReadFile(c.file)
			if err != nil {
				t.Fatal(err)
			}
			m := regexp.MustCompile(`-X (\S+)=` + regexp.QuoteMeta(c.value)).FindSubmatch(data)
			if m == nil {
				t.Fatalf("%s does not stamp the version with -X NAME=%s", c.file, c.value)
			}
			bin := filepath.Join(t.TempDir(), "eventproc")
			build := exec.Command("go", "build", "-ldflags", "-X "+string(m[1])+"=v9.8.7-stamp", "-o", bin, ".")
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, out)
			}
			out, err := exec.Command(bin, "version").Output()
			if err != nil {
				t.Fatalf("eventproc version: %v", err)
			}
			if got, want := strings.TrimSpace(string(out)), "eventproc v9.8.7-stamp"; got != want {
				t.Errorf("built with %s's -X %s: %q, want %q", c.file, m[1], got, want)
			}
		})
	}
}
