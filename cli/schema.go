package cli

import (
	"context"
	"fmt"

	"eventproc/engine"
)

func cmdSchema(ctx context.Context, env *cmdEnv, args []string) int {
	if len(args) > 0 {
		fmt.Fprintln(env.stderr, "usage: eventproc schema   (prints the JSON Schema of events.d files)")
		if args[0] == "-h" || args[0] == "--help" {
			return 0
		}
		return 2
	}
	env.stdout.Write(engine.FormatSchema)
	return 0
}
