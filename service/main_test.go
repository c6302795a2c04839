package service

import (
	"os"
	"testing"

	"eventproc/adapters/awstest"
)

// The tests run from the repository's root, where events.d is.
func TestMain(m *testing.M) {
	if err := os.Chdir(".."); err != nil {
		panic(err)
	}
	awstest.Main(m)
}
