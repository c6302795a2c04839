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

// checkOptions are check's parsed flags.
type checkOptions struct {
	rules, envelope, configFile, format string
	connect                             bool
}

// checkReport is what check found: the sorted diagnostics, the first envelope's rules (nil
// when they did not compile) and the suites' counts.
type checkReport struct {
	diags         engine.Diagnostics
	rs            *engine.Ruleset
	cases, failed int
}

func cmdCheck(ctx context.Context, env *cmdEnv, args []string) int {
	opts, code, ok := parseCheckFlags(env, args)
	if !ok {
		return code
	}
	rep, err := gatherCheck(ctx, env, opts)
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc check: %v\n", err)
		return 2
	}
	errs, warns := rep.diags.Count()
	if opts.format == "json" {
		if err := printCheckJSON(env, rep, errs, warns); err != nil {
			fmt.Fprintf(env.stderr, "eventproc check: %v\n", err)
			return 1
		}
	} else {
		printCheckText(env, rep, errs, warns)
	}
	if errs > 0 {
		return 1
	}
	return 0
}

// parseCheckFlags parses check's arguments; when ok is false, code is the exit code.
func parseCheckFlags(env *cmdEnv, args []string) (opts checkOptions, code int, ok bool) {
	fs := newFlagSet("check", env, "[--rules DIR] [--envelope NAME] [--format text|json] [--connect [--config FILE]]")
	rules := rulesFlag(fs, env)
	envelope := fs.String("envelope", "", "check with this envelope `name` only (default: every envelope)")
	connect := fs.Bool("connect", false, "also check the live setup: queues, their redrive policies and visibility, tables and their keys (AWS credentials and endpoints as for run)")
	configFile := fs.String("config", "", "with --connect: the configuration `file` naming the queues (default: as for run)")
	format := fs.String("format", "text", "output `format`: text or json")
	if code, ok := parseFlags(fs, args); !ok {
		return opts, code, false
	}
	if fs.NArg() > 0 {
		return opts, unexpectedArg(env, fs), false
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(env.stderr, "eventproc check: --format must be text or json, not %q\n", *format)
		return opts, 2, false
	}
	return checkOptions{rules: *rules, envelope: *envelope, configFile: *configFile, format: *format, connect: *connect}, 0, true
}

// gatherCheck loads every envelope (or the one asked for), runs their suites and, with
// --connect, checks the live setup. Its error is a fatal one (exit code 2).
func gatherCheck(ctx context.Context, env *cmdEnv, opts checkOptions) (checkReport, error) {
	sets, diags, err := engine.LoadEveryDir(opts.rules, engine.WithEnvelope(opts.envelope))
	if err != nil {
		return checkReport{}, err
	}
	rep := checkReport{rs: sets[0].Rules}
	for _, set := range sets {
		if set.Rules == nil {
			continue
		}
		failing, n := set.Rules.TestDiagnostics(ctx)
		rep.cases, rep.failed = rep.cases+n, rep.failed+len(failing)
		for _, d := range failing {
			d.File = engine.DirPath(opts.rules, d.File)
			diags = append(diags, d)
		}
	}
	if opts.connect && rep.rs != nil {
		cfg, err := connectConfig(env, opts.configFile)
		if err != nil {
			return checkReport{}, err
		}
		diags = append(diags, connectDiagnostics(ctx, env, rep.rs, cfg, opts.rules)...)
	}
	diags.Sort()
	rep.diags = diags
	return rep, nil
}

// printCheckJSON writes the report as one indented JSON object on stdout.
func printCheckJSON(env *cmdEnv, rep checkReport, errs, warns int) error {
	out := struct {
		Diagnostics []jsonDiag `json:"diagnostics"`
		Errors      int        `json:"errors"`
		Warnings    int        `json:"warnings"`
		Tests       int        `json:"tests"`
		TestsFailed int        `json:"tests_failed"`
	}{Diagnostics: []jsonDiag{}, Errors: errs, Warnings: warns, Tests: rep.cases, TestsFailed: rep.failed}
	for _, d := range rep.diags {
		out.Diagnostics = append(out.Diagnostics, jsonDiag{d.File, d.Line, d.Col, d.Severity.String(), d.Code, d.Message})
	}
	enc := json.NewEncoder(env.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// printCheckText writes one diagnostic a line on stdout and the summary on stderr.
func printCheckText(env *cmdEnv, rep checkReport, errs, warns int) {
	for _, d := range rep.diags {
		fmt.Fprintln(env.stdout, d.String())
	}
	if rep.rs == nil {
		fmt.Fprintf(env.stderr, "%d errors, %d warnings\n", errs, warns)
		return
	}
	t := rep.rs.Types()
	versions := 0
	for _, x := range t {
		versions += len(x.Versions)
	}
	fmt.Fprintf(env.stderr, "%d types, %d versions; %d test cases, %d failed; %d errors, %d warnings\n",
		len(t), versions, rep.cases, rep.failed, errs, warns)
}
