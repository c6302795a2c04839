// Command eventproc validates events from SQS against rules declared in events.d and
// stores them in DynamoDB. See README.md; the commands are in package cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"eventproc/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Environ(), os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
