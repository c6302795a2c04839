package main

import (
	"context"
	"fmt"
)

// cmdCheck, cmdValidate and cmdTest are the engine's commands (being written).
func cmdCheck(ctx context.Context, env *cmdEnv, args []string) int {
	fmt.Fprintln(env.stderr, "eventproc check: not implemented yet")
	return 1
}

func cmdValidate(ctx context.Context, env *cmdEnv, args []string) int {
	fmt.Fprintln(env.stderr, "eventproc validate: not implemented yet")
	return 1
}

func cmdTest(ctx context.Context, env *cmdEnv, args []string) int {
	fmt.Fprintln(env.stderr, "eventproc test: not implemented yet")
	return 1
}
