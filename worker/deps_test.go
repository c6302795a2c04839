package worker

import (
	"os/exec"
	"strings"
	"testing"
)

// The loop imports the engine (and the leaf packages backoff and limits, which import
// nothing of eventproc) and no AWS, koanf or adapter package.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/aws/") || strings.Contains(dep, "koanf") ||
			strings.HasPrefix(dep, "eventproc/") && dep != "eventproc/worker" && dep != "eventproc/engine" && dep != "eventproc/backoff" && dep != "eventproc/limits" {
			t.Errorf("worker depends on %s", dep)
		}
	}
}
