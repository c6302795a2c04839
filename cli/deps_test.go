package cli

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestImporters: nothing imports cli but main, and nothing imports service but cli (tests
// aside): the commands and the run process are the outermost rings of the house.
func TestImporters(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := map[string][]string{
		"eventproc/cli":     {"eventproc"},
		"eventproc/service": {"eventproc/cli"},
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		for _, imp := range fields[1:] {
			if want, ok := allowed[imp]; ok {
				seen[imp] = true
				if !slices.Contains(want, fields[0]) {
					t.Errorf("%s imports %s; only %s may", fields[0], imp, strings.Join(want, ", "))
				}
			}
		}
	}
	for pkg := range allowed {
		if !seen[pkg] {
			t.Errorf("nothing imports %s", pkg)
		}
	}
}
