// Package cli is eventproc's command line: Run executes one command line with the
// streams and environment it is given and returns the exit code (0 success, 1 failure,
// 2 usage error). Each command is in the file named after it (check.go, run.go, …);
// their flags and usage helpers are in flags.go. Only main imports it; tests call Run
// with their own arguments, environment and buffers.
package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
)

// command is one subcommand. run gets the arguments after the subcommand's name and
// returns the process exit code.
type command struct {
	summary string
	run     func(ctx context.Context, env *cmdEnv, args []string) int
}

// cmdEnv is what a subcommand may touch of the process: its streams and environment.
type cmdEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	environ        []string
}

// getenv looks a variable up in the command's own environment (never the process's).
func (e *cmdEnv) getenv(key string) string {
	for i := len(e.environ) - 1; i >= 0; i-- {
		kv := e.environ[i]
		if len(kv) > len(key) && kv[len(key)] == '=' && kv[:len(key)] == key {
			return kv[len(key)+1:]
		}
	}
	return ""
}

var commands = map[string]command{
	"check":       {"lint events.d: load, compile, run the test suites, report every problem", cmdCheck},
	"validate":    {"validate NDJSON message bodies and print one JSON verdict per line", cmdValidate},
	"test":        {"run the events.d test suites", cmdTest},
	"run":         {"consume SQS, validate, persist to DynamoDB (the worker)", cmdRun},
	"config":      {"print the effective configuration of run (secrets redacted) and where each value came from", cmdConfig},
	"provision":   {"create the queues, dead-letter queues and tables the setup needs", cmdProvision},
	"send":        {"send generated events to a queue", cmdSend},
	"generate":    {"print generated events as NDJSON (what send sends)", cmdGenerate},
	"stats":       {"count a table's items by type, version and status, and queue depths", cmdStats},
	"redrive":     {"move messages from a dead-letter queue back to its queue", cmdRedrive},
	"diff":        {"replay a corpus under old and new rules and print every changed verdict", cmdDiff},
	"schema":      {"print the JSON Schema of the events.d file format", cmdSchema},
	"healthcheck": {"exit 0 when a running worker answers ready (a container health check)", cmdHealthcheck},
	"version":     {"print the version", cmdVersion},
}

// Run executes one eventproc command line and returns its exit code: 0 success,
// 1 failure, 2 usage error. --version (or -version) is the version command; -v is not
// (it would read as test's -v, verbose).
func Run(ctx context.Context, args, environ []string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := &cmdEnv{stdin: stdin, stdout: stdout, stderr: stderr, environ: environ}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "--version" || args[0] == "-version" {
		return cmdVersion(ctx, env, args[1:])
	}
	cmd, ok := commands[args[0]]
	if !ok {
		if args[0] == "-v" || args[0] == "-V" {
			fmt.Fprintf(stderr, "eventproc: unknown flag %q; did you mean --version?\n", args[0])
			return 2
		}
		fmt.Fprintf(stderr, "eventproc: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	return cmd.run(ctx, env, args[1:])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: eventproc COMMAND [flags]\n       eventproc --version")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'eventproc COMMAND -h' for a command's flags.")
}
