package config

import (
	"os/exec"
	"strings"
	"testing"
)

// config imports no other eventproc package but limits (which imports none), and
// gopkg.in/yaml.v3 is its only YAML library.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "eventproc/") && dep != "eventproc/config" && dep != "eventproc/limits" ||
			strings.Contains(dep, "yaml") && !strings.HasPrefix(dep, "gopkg.in/yaml.v3") {
			t.Errorf("config depends on %s", dep)
		}
	}
}
