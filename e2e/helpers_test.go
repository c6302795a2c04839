package e2e

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"eventproc/cli"
)

// runCLI runs one command line in process (cli.Run), with stdin and a bare environment.
func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cli.Run(context.Background(), args, []string{"PATH=/usr/bin"}, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// runCmd runs one command line in process with the environment given.
func runCmd(t *testing.T, environ []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cli.Run(context.Background(), args, environ, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}
