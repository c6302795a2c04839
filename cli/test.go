package cli

import (
	"context"
	"fmt"

	"eventproc/engine"
)

func cmdTest(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet("test", env, "[--rules DIR] [--envelope NAME] [--transport auto|raw|sns] [-v]")
	rules := rulesFlag(fs, env)
	envelope := fs.String("envelope", "", "run the suites of this envelope `name` only (default: every envelope)")
	transport := transportFlag(fs)
	fs.Lookup("transport").Usage = "the `transport` of the cases that name none: auto, raw or sns (sns delivers a case built from event or base wrapped in an SNS notification)"
	verbose := fs.Bool("v", false, "list passing cases too")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return unexpectedArg(env, fs)
	}
	sets, diags, err := engine.LoadEveryDir(*rules, engine.WithEnvelope(*envelope))
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc test: %v\n", err)
		return 2
	}
	if sets[0].Rules == nil {
		for _, d := range diags {
			fmt.Fprintln(env.stderr, d.String())
		}
		fmt.Fprintln(env.stderr, "eventproc test: the rules do not load; run eventproc check")
		return 2
	}
	passed, failed, broken := 0, 0, false
	for _, d := range diags {
		if d.Severity == engine.Warning {
			fmt.Fprintln(env.stderr, d.String())
		}
	}
	for _, set := range sets {
		if set.Rules == nil {
			fmt.Fprintf(env.stderr, "eventproc test: the rules do not load with envelope %s; run eventproc check\n", set.Envelope)
			broken = true
			continue
		}
		for _, r := range set.Rules.Test(ctx, engine.WithTransport(*transport)) {
			file := engine.DirPath(*rules, r.Pos.File)
			if r.Passed {
				passed++
				if *verbose {
					fmt.Fprintf(env.stdout, "ok   %s:%d: %s\n", file, r.Pos.Line, r.Case)
				}
				continue
			}
			failed++
			fmt.Fprintf(env.stdout, "FAIL %s:%d: %s: %s\n", file, r.Pos.Line, r.Case, r.Message)
		}
	}
	if broken {
		return 2
	}
	fmt.Fprintf(env.stdout, "%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return 1
	}
	return 0
}
