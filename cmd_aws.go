package main

import (
	"context"
	"fmt"
)

// cmdProvision and cmdSend talk to AWS (being written).
func cmdProvision(ctx context.Context, env *cmdEnv, args []string) int {
	fmt.Fprintln(env.stderr, "eventproc provision: not implemented yet")
	return 1
}

func cmdSend(ctx context.Context, env *cmdEnv, args []string) int {
	fmt.Fprintln(env.stderr, "eventproc send: not implemented yet")
	return 1
}
