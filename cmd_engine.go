package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"eventproc/engine"
)

// The engine's commands: check (the linter), validate (NDJSON verdicts), test (suites).

// rulesFlag registers --rules, defaulting to $EVENTPROC_RULES or events.d.
func rulesFlag(fs *flag.FlagSet, env *cmdEnv) *string {
	def := env.getenv("EVENTPROC_RULES")
	if def == "" {
		def = "events.d"
	}
	return fs.String("rules", def, "events.d `directory`")
}

func newFlagSet(name string, env *cmdEnv, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "usage: eventproc %s %s\n\nflags:\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; it returns the exit code to use when parsing ends the command.
func parseFlags(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	return 0, true
}

// loadRules loads a rules directory; diagnostics go to w as text.
func loadRules(dir string) (*engine.Ruleset, engine.Diagnostics, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("rules: %w", err)
	}
	if !st.IsDir() {
		return nil, nil, fmt.Errorf("rules: %s is not a directory", dir)
	}
	rs, diags := engine.Load(os.DirFS(dir))
	for i := range diags {
		diags[i].File = joinPath(dir, diags[i].File)
	}
	return rs, diags, nil
}

func joinPath(dir, file string) string {
	if file == "." || file == "" {
		return dir
	}
	return strings.TrimSuffix(dir, "/") + "/" + file
}

type jsonDiag struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Col      int    `json:"col"`
	Severity string `json:"severity"`
	Code     string `json:"code"`
	Message  string `json:"message"`
}

func cmdCheck(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet("check", env, "[--rules DIR] [--format text|json]")
	rules := rulesFlag(fs, env)
	format := fs.String("format", "text", "output `format`: text or json")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(env.stderr, "eventproc check: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(env.stderr, "eventproc check: --format must be text or json, not %q\n", *format)
		return 2
	}
	rs, diags, err := loadRules(*rules)
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc check: %v\n", err)
		return 2
	}
	cases, failed := 0, 0
	if rs != nil {
		results := rs.Test(ctx)
		cases = len(results)
		for _, r := range results {
			if !r.Passed {
				failed++
				r.Pos.File = joinPath(*rules, r.Pos.File)
				diags = append(diags, engine.Diagnostic{Pos: r.Pos, Severity: engine.Error, Code: "test-failed",
					Message: fmt.Sprintf("test %q: %s", r.Case, r.Message)})
			}
		}
		diags.Sort()
	}
	errs, warns := 0, 0
	for _, d := range diags {
		if d.Severity == engine.Error {
			errs++
		} else {
			warns++
		}
	}
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

func cmdTest(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet("test", env, "[--rules DIR] [-v]")
	rules := rulesFlag(fs, env)
	verbose := fs.Bool("v", false, "list passing cases too")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(env.stderr, "eventproc test: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	rs, diags, err := loadRules(*rules)
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc test: %v\n", err)
		return 2
	}
	if rs == nil {
		for _, d := range diags {
			fmt.Fprintln(env.stderr, d.String())
		}
		fmt.Fprintln(env.stderr, "eventproc test: the rules do not load; run eventproc check")
		return 2
	}
	passed, failed := 0, 0
	for _, r := range rs.Test(ctx) {
		file := joinPath(*rules, r.Pos.File)
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
	fmt.Fprintf(env.stdout, "%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return 1
	}
	return 0
}

// maxLine bounds one NDJSON line: SQS's largest message (1 MiB) plus its newline.
const maxLine = 1<<20 + 1

// verdictJSON is one line of `eventproc validate` output.
type verdictJSON struct {
	Line          int                `json:"line"`
	Valid         bool               `json:"valid"`
	EventType     string             `json:"event_type,omitempty"`
	SchemaVersion string             `json:"schema_version,omitempty"`
	EventID       string             `json:"event_id,omitempty"`
	Key           map[string]any     `json:"key,omitempty"`
	Violations    []engine.Violation `json:"violations,omitempty"`
	Warnings      []engine.Violation `json:"warnings,omitempty"`
	Error         string             `json:"error,omitempty"`
}

func cmdValidate(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet("validate", env, "[--rules DIR] [FILE ...]   (NDJSON; stdin when no FILE or -)")
	rules := rulesFlag(fs, env)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	rs, diags, err := loadRules(*rules)
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc validate: %v\n", err)
		return 2
	}
	if rs == nil {
		for _, d := range diags {
			fmt.Fprintln(env.stderr, d.String())
		}
		fmt.Fprintln(env.stderr, "eventproc validate: the rules do not load")
		return 2
	}
	files := fs.Args()
	if len(files) == 0 {
		files = []string{"-"}
	}
	out := bufio.NewWriterSize(env.stdout, 64<<10)
	defer out.Flush()
	v := &validator{rs: rs, out: out, enc: json.NewEncoder(out), allValid: true}
	v.enc.SetEscapeHTML(false)
	for _, name := range files {
		var r io.Reader = env.stdin
		if name != "-" {
			f, err := os.Open(name)
			if err != nil {
				fmt.Fprintf(env.stderr, "eventproc validate: %v\n", err)
				return 2
			}
			r = f
			defer f.Close()
		}
		if err := v.stream(ctx, r); err != nil {
			out.Flush()
			fmt.Fprintf(env.stderr, "eventproc validate: %s: %v\n", name, err)
			return 2
		}
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintf(env.stderr, "eventproc validate: %v\n", err)
		return 2
	}
	if !v.allValid {
		return 1
	}
	return 0
}

type validator struct {
	rs       *engine.Ruleset
	out      *bufio.Writer
	enc      *json.Encoder
	line     int
	allValid bool
}

// stream validates one NDJSON input, line by line, in constant memory.
func (v *validator) stream(ctx context.Context, r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long)+len(chunk) <= maxLine {
				long = append(long, chunk...)
			} else {
				long = long[:0:0]
				long = append(long, 0) // marker: too long
				if err := v.skipRest(br); err != nil {
					return err
				}
				v.emitTooLong()
				long = nil
			}
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if len(chunk) == 0 && errors.Is(err, io.EOF) && len(long) == 0 {
			return nil
		}
		line := chunk
		if len(long) > 0 {
			long = append(long, chunk...)
			line = long
		}
		if len(line) > maxLine {
			v.emitTooLong()
		} else {
			body := strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r")
			v.emit(ctx, body)
		}
		long = long[:0]
		if errors.Is(err, io.EOF) {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

func (v *validator) skipRest(br *bufio.Reader) error {
	for {
		_, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		return nil
	}
}

func (v *validator) emitTooLong() {
	v.line++
	v.allValid = false
	_ = v.enc.Encode(verdictJSON{Line: v.line, Error: fmt.Sprintf("line longer than %d bytes", maxLine-1)})
}

func (v *validator) emit(ctx context.Context, body string) {
	v.line++
	vd := v.rs.Evaluate(ctx, body)
	out := verdictJSON{Line: v.line, Valid: vd.Outcome == engine.Valid, EventType: vd.EventType,
		SchemaVersion: vd.Version, EventID: vd.EventID, Violations: vd.Violations, Warnings: vd.Warnings}
	if vd.Err != nil {
		out.Error = vd.Err.Error()
	}
	if vd.Persist != nil {
		out.Key = make(map[string]any, len(vd.Persist.Key))
		for _, k := range vd.Persist.Key {
			out.Key[k.Name] = k.Value
		}
	}
	if !out.Valid {
		v.allValid = false
	}
	_ = v.enc.Encode(out)
}
