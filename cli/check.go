package cli

import (
	"context"
	"encoding/json"
	"fmt"

	"eventproc/engine"
)

type jsonDiag struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Col      int    `json:"col"`
	Severity string `json:"severity"`
	Code     string `json:"code"`
	Message  string `json:"message"`
}

func cmdCheck(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet("check", env, "[--rules DIR] [--envelope NAME] [--format text|json] [--connect [--config FILE]]")
	rules := rulesFlag(fs, env)
	envelope := fs.String("envelope", "", "check with this envelope `name` only (default: every envelope)")
	connect := fs.Bool("connect", false, "also check the live setup: queues, their redrive policies and visibility, tables and their keys (AWS credentials and endpoints as for run)")
	configFile := fs.String("config", "", "with --connect: the configuration `file` naming the queues (default: as for run)")
	format := fs.String("format", "text", "output `format`: text or json")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return unexpectedArg(env, fs)
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(env.stderr, "eventproc check: --format must be text or json, not %q\n", *format)
		return 2
	}
	sets, diags, err := engine.LoadEveryDir(*rules, engine.WithEnvelope(*envelope))
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc check: %v\n", err)
		return 2
	}
	// Every envelope (or the one asked for): its compilation and its suites.
	rs := sets[0].Rules
	cases, failed := 0, 0
	for _, set := range sets {
		if set.Rules == nil {
			continue
		}
		failing, n := set.Rules.TestDiagnostics(ctx)
		cases, failed = cases+n, failed+len(failing)
		for _, d := range failing {
			d.File = engine.DirPath(*rules, d.File)
			diags = append(diags, d)
		}
	}
	if *connect && rs != nil {
		cfg, err := connectConfig(env, *configFile)
		if err != nil {
			fmt.Fprintf(env.stderr, "eventproc check: %v\n", err)
			return 2
		}
		diags = append(diags, connectDiagnostics(ctx, env, rs, cfg, *rules)...)
	}
	diags.Sort()
	errs, warns := diags.Count()
	if *format == "json" {
		out := struct {
			Diagnostics []jsonDiag `json:"diagnostics"`
			Errors      int        `json:"errors"`
			Warnings    int        `json:"warnings"`
			Tests       int        `json:"tests"`
			TestsFailed int        `json:"tests_failed"`
		}{Diagnostics: []jsonDiag{}, Errors: errs, Warnings: warns, Tests: cases, TestsFailed: failed}
		for _, d := range diags {
			out.Diagnostics = append(out.Diagnostics, jsonDiag{d.File, d.Line, d.Col, d.Severity.String(), d.Code, d.Message})
		}
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			fmt.Fprintf(env.stderr, "eventproc check: %v\n", err)
			return 1
		}
	} else {
		for _, d := range diags {
			fmt.Fprintln(env.stdout, d.String())
		}
		if rs != nil {
			t := rs.Types()
			versions := 0
			for _, x := range t {
				versions += len(x.Versions)
			}
			fmt.Fprintf(env.stderr, "%d types, %d versions; %d test cases, %d failed; %d errors, %d warnings\n",
				len(t), versions, cases, failed, errs, warns)
		} else {
			fmt.Fprintf(env.stderr, "%d errors, %d warnings\n", errs, warns)
		}
	}
	if errs > 0 {
		return 1
	}
	return 0
}
