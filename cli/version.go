package cli

import (
	"context"
	"fmt"
)

// version is set at build time with -ldflags "-X eventproc/cli.version=...".
var version = "dev"

func cmdVersion(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet("version", env, "   (or eventproc --version; prints eventproc VERSION)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return unexpectedArg(env, fs)
	}
	fmt.Fprintf(env.stdout, "eventproc %s\n", version)
	return 0
}
