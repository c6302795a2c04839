package main

import (
	"context"
	"fmt"
)

// cmdRun is the worker (being written).
func cmdRun(ctx context.Context, env *cmdEnv, args []string) int {
	fmt.Fprintln(env.stderr, "eventproc run: not implemented yet")
	return 1
}
