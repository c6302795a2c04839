package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// runCLI runs one command line in process, with stdin and a bare environment.
func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, []string{"PATH=/usr/bin"}, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}
