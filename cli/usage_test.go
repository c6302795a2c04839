package cli

import (
	"regexp"
	"strings"
	"testing"
)

// genericArgs are the words the flag package prints for a flag whose usage has no
// backquoted name: they say nothing of what the value is.
var genericArgs = map[string]bool{"value": true, "string": true, "int": true, "int64": true, "uint": true, "uint64": true, "float": true}

// flagLine is a flag as -h prints it (flag.PrintDefaults): "  -name arg", the usage
// on the same line after a tab or on the next.
var flagLine = regexp.MustCompile(`^  -([^\s=]+)(?: ([^\t]+))?(?:\t.*)?$`)

// TestUsageListsEveryFlag walks every command of main's table: -h exits 0, its first
// line is the synopsis "usage: eventproc NAME …", the synopsis mentions every flag -h
// lists, and every flag but a switch says what its value is (a backquoted word in its
// usage, not the flag package's "string" or "int").
func TestUsageListsEveryFlag(t *testing.T) {
	for name := range commands {
		t.Run(name, func(t *testing.T) {
			code, _, errs := runCLI(t, "", name, "-h")
			if code != 0 {
				t.Fatalf("exit %d, want 0\n%s", code, errs)
			}
			lines := strings.Split(errs, "\n")
			synopsis := lines[0]
			if !strings.HasPrefix(synopsis, "usage: eventproc "+name) {
				t.Fatalf("first line %q is not the synopsis", synopsis)
			}
			flags := 0
			for _, l := range lines[1:] {
				m := flagLine.FindStringSubmatch(l)
				if m == nil {
					continue
				}
				flags++
				flag, arg := m[1], m[2]
				if !regexp.MustCompile(`(^|[^\w-])--?` + regexp.QuoteMeta(flag) + `($|[^\w-])`).MatchString(synopsis) {
					t.Errorf("the synopsis does not mention -%s:\n%s", flag, synopsis)
				}
				if genericArgs[arg] {
					t.Errorf("-%s %s: say what the value is with a backquoted word in its usage", flag, arg)
				}
			}
			if flags == 0 && strings.Contains(errs, "flags:") {
				t.Errorf("a flags section without flags?\n%s", errs)
			}
		})
	}
}

// TestVersionFlag: eventproc --version (and -version) is eventproc version; -v is not
// taken (test's -v is verbose), and says so.
func TestVersionFlag(t *testing.T) {
	for _, arg := range []string{"--version", "-version", "version"} {
		if code, out, errs := runCLI(t, "", arg); code != 0 || out != "eventproc "+version+"\n" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", arg, code, out, errs)
		}
	}
	if code, _, errs := runCLI(t, "", "-v"); code != 2 || !strings.Contains(errs, "did you mean --version?") {
		t.Errorf("-v: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := runCLI(t, "", "version", "extra"); code != 2 || !strings.Contains(errs, `unexpected argument "extra"`) {
		t.Errorf("version extra: exit %d, stderr %q", code, errs)
	}
}

// TestPositionalRulesHint: a directory given where a command takes none, or where it
// takes files, is hinted at as --rules; a YAML file as --config — for every command
// that has the flag.
func TestPositionalRulesHint(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"check", "events.d"}, `eventproc check: unexpected argument "events.d"; did you mean --rules events.d?`},
		{[]string{"test", "events.d"}, `eventproc test: unexpected argument "events.d"; did you mean --rules events.d?`},
		{[]string{"run", "events.d"}, `eventproc run: unexpected argument "events.d"; did you mean --rules events.d?`},
		{[]string{"run", "prod.yaml"}, `eventproc run: unexpected argument "prod.yaml"; did you mean --config prod.yaml?`},
		{[]string{"config", "events.d"}, `eventproc config: unexpected argument "events.d"; did you mean --rules events.d?`},
		{[]string{"provision", "--queue", "q", "events.d"}, `eventproc provision: unexpected argument "events.d"; did you mean --rules events.d?`},
		{[]string{"send", "--queue", "q", "events.d"}, `eventproc send: unexpected argument "events.d"; did you mean --rules events.d?`},
		{[]string{"stats", "events.d"}, `eventproc stats: unexpected argument "events.d"; did you mean --rules events.d?`},
		{[]string{"validate", "events.d"}, `eventproc validate: events.d is a directory; did you mean --rules events.d?`},
		{[]string{"diff", "--old", "events.d", "events.d"}, `eventproc diff: events.d is a directory; did you mean --rules events.d?`},
		{[]string{"check", "nosuchdir"}, `eventproc check: unexpected argument "nosuchdir"` + "\n"},
		{[]string{"redrive", "--queue", "q", "events.d"}, `eventproc redrive: unexpected argument "events.d"` + "\n"},
	} {
		code, out, errs := runCLI(t, "", tt.args...)
		if code != 2 || out != "" || !strings.Contains(errs, tt.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and %q", tt.args, code, out, errs, tt.want)
		}
	}
}
