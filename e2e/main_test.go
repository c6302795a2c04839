package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"eventproc/adapters/awstest"
)

// The tests run from the repository's root, as a user runs the binary: events.d,
// eventproc.yaml, testdata/, the Dockerfile and the scripts are where they are there.
func TestMain(m *testing.M) {
	if err := os.Chdir(".."); err != nil {
		panic(err)
	}
	code := awstest.Run(m)
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// built is the eventproc binary, built once for every test that runs it.
var built struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// binary returns the eventproc binary, building it on first use.
func binary(t testing.TB) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "eventproc-e2e-"); built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "eventproc")
		if out, err := exec.Command("go", "build", "-o", built.path, ".").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}
