package cli

import (
	"os"
	"testing"

	"eventproc/adapters/awstest"
)

// The tests run from the repository's root, as the commands do: events.d, eventproc.yaml
// and testdata/ are where a user finds them.
func TestMain(m *testing.M) {
	if err := os.Chdir(".."); err != nil {
		panic(err)
	}
	awstest.Main(m)
}
