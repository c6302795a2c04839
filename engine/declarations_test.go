package engine

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// TestCELDeclarations: every function and variable a rule can reach is in
// testdata/cel-declarations.golden, one overload a line. Rules must not reach the clock,
// the process's environment, files, the network or processes; a change to the CEL
// environment (a new library, a cel-go upgrade) shows here as a diff to review, instead
// of passing unseen. -update rewrites the file.
func TestCELDeclarations(t *testing.T) {
	rs := ruleset(t, map[string]string{"t.yaml": "type: t\nversions:\n  v1:\n    fields: {s: {type: string}}\n"})
	env, err := baseEnv(rs.objs)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for name, fn := range env.Functions() {
		for _, o := range fn.OverloadDecls() {
			lines = append(lines, "function "+name+" "+o.ID())
		}
	}
	for _, v := range env.Variables() {
		lines = append(lines, "variable "+v.Name()+" "+v.Type().String())
	}
	slices.Sort(lines)
	got := strings.Join(lines, "\n") + "\n"
	const golden = "testdata/cel-declarations.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("the CEL environment changed (review it, then go test -run TestCELDeclarations -update ./engine):\n%s", lineDiff(string(want), got))
	}
	for _, banned := range []string{" now ", " env ", " getenv ", " readFile ", " file ", " http", " exec"} {
		for _, l := range lines {
			if strings.Contains(l+" ", banned) {
				t.Errorf("a rule can reach %q: %s", strings.TrimSpace(banned), l)
			}
		}
	}
}

// lineDiff lists the lines only in want (-) and only in got (+).
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for _, l := range w {
		if !slices.Contains(g, l) {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range g {
		if !slices.Contains(w, l) {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}
