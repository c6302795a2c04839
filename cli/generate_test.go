package cli

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"eventproc/engine"
)

// TestGenerateCommand: generate over a type keyed on a body field that its suite gives
// examples for prints N valid events with N distinct persistence keys; the same seed
// prints the same bytes, another seed other events; --invalid makes the right number
// invalid, each stored under a key of its own.
func TestGenerateCommand(t *testing.T) {
	const rules = "testdata/shipments.d"
	rs, diags := engine.Load(os.DirFS(rules))
	if rs == nil || len(diags) > 0 {
		t.Fatalf("%s: %v", rules, diags)
	}
	gen := func(args ...string) []string {
		t.Helper()
		code, out, errs := runCLI(t, "", append([]string{"generate", "--rules", rules, "--type", "shipment.dispatched"}, args...)...)
		if code != 0 {
			t.Fatalf("generate %v = %d: %s", args, code, errs)
		}
		if !regexp.MustCompile(`^generated \d+ messages \(\d+ valid, \d+ invalid\) of shipment\.dispatched v1 \(seed \d+\)\n$`).MatchString(errs) {
			t.Errorf("stderr: %q", errs)
		}
		return strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	}
	// keys verdicts each line and returns how many were valid and the distinct keys.
	keys := func(lines []string) (valid int, distinct map[string]bool) {
		distinct = map[string]bool{}
		for _, l := range lines {
			v := rs.Evaluate(context.Background(), l)
			p := rs.Rejection(l)
			switch v.Outcome {
			case engine.Valid:
				valid++
				p = *v.Persist
			case engine.RuleFailed:
				t.Fatalf("rule failed: %v\n%s", v.Err, l)
			}
			distinct[fmt.Sprint(p.Table, p.Key)] = true
		}
		return valid, distinct
	}

	const n = 500
	a := gen("--count", fmt.Sprint(n), "--seed", "7")
	valid, distinct := keys(a)
	if len(a) != n || valid != n || len(distinct) != n {
		t.Errorf("%d lines, %d valid, %d distinct keys; want %d of each", len(a), valid, len(distinct), n)
	}
	if b := gen("--count", fmt.Sprint(n), "--seed", "7"); strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Error("the same seed printed different events")
	}
	if c := gen("--count", "10", "--seed", "7"); strings.Join(c, "\n") != strings.Join(a[:10], "\n") {
		t.Error("a shorter run is not the start of a longer one")
	}
	if c := gen("--count", "10", "--seed", "8"); strings.Join(c, "\n") == strings.Join(a[:10], "\n") {
		t.Error("seeds 7 and 8 printed the same events")
	}

	mixed := gen("--count", "200", "--invalid", "0.25", "--seed", "9")
	valid, distinct = keys(mixed)
	if len(mixed) != 200 || valid != 150 || len(distinct) != 200 {
		t.Errorf("--invalid 0.25: %d lines, %d valid, %d distinct keys; want 200, 150, 200", len(mixed), valid, len(distinct))
	}
}

func TestGenerateUsage(t *testing.T) {
	for _, args := range [][]string{
		{"generate"},                 // no count
		{"generate", "--count", "0"}, // not positive
		{"generate", "--count", "1", "--invalid", "2"},
		{"generate", "--count", "1", "--type", "nope"},
		{"generate", "--count", "1", "--type", "order.placed", "--version", "v9"},
		{"generate", "--count", "1", "stray"},
		{"generate", "--bogus"},
	} {
		if code, _, errs := runCLI(t, "", args...); code != 2 || !strings.Contains(errs, "eventproc generate") && !strings.Contains(errs, "usage") {
			t.Errorf("%v = %d, want 2 (%s)", args, code, errs)
		}
	}
	code, _, errs := runCLI(t, "", "generate", "--count", "1", "--type", "nope")
	if !strings.Contains(errs, `no event type "nope" (known: all, order.placed, payment.processed, user.created)`) {
		t.Errorf("unknown type = %d: %s", code, errs)
	}
}

// TestGenerateREADMEExample runs the generate example of docs/cli.md and compares what
// it prints (stdout, then stderr) with the document's lines.
func TestGenerateREADMEExample(t *testing.T) {
	data, err := os.ReadFile("docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```console\n\\$ eventproc (generate [^\n]*)\n(.*?)```").FindStringSubmatch(string(data))
	if m == nil {
		t.Fatal("docs/cli.md has no ```console block with a generate example")
	}
	code, out, errs := runCLI(t, "", strings.Fields(m[1])...)
	if code != 0 {
		t.Fatalf("eventproc %s = %d: %s", m[1], code, errs)
	}
	if got := out + errs; got != m[2] {
		t.Errorf("eventproc %s prints\n%s\ndocs/cli.md shows\n%s", m[1], got, m[2])
	}
}
