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
	"strconv"
	"strings"
	"unicode/utf8"

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

// newFlagSet makes the flag set of command name. usage is what follows "usage:
// eventproc NAME" on -h: a synopsis that mentions every flag the command defines (a
// test holds each command to it), then optionally a blank line and a description.
// Every flag's usage names what its value is with a backquoted word (`dir`, `count`,
// `duration`, …), which -h prints after the flag's name.
func newFlagSet(name string, env *cmdEnv, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "usage: eventproc %s %s\n", name, usage)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintln(env.stderr, "\nflags:")
			fs.PrintDefaults()
		}
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

// unexpectedArg reports fs's first positional argument to a command that takes none,
// and returns the usage error's exit code, 2. When the argument looks like the value
// of one of the command's flags (a directory for --rules, a YAML file for --config),
// the message says which: eventproc check: unexpected argument "events.d"; did you
// mean --rules events.d?
func unexpectedArg(env *cmdEnv, fs *flag.FlagSet) int {
	arg := fs.Arg(0)
	fmt.Fprintf(env.stderr, "eventproc %s: unexpected argument %q%s\n", fs.Name(), arg, flagHint(fs, arg))
	return 2
}

// misplacedRules reports the first of files, the positional arguments of a command
// that reads files, that is a directory while the command takes --rules: eventproc
// validate: events.d is a directory; did you mean --rules events.d? It returns false
// when there is none.
func misplacedRules(env *cmdEnv, fs *flag.FlagSet, files []string) bool {
	if fs.Lookup("rules") == nil {
		return false
	}
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && st.IsDir() {
			fmt.Fprintf(env.stderr, "eventproc %s: %s is a directory%s\n", fs.Name(), f, flagHint(fs, f))
			return true
		}
	}
	return false
}

// flagHint is "; did you mean --FLAG ARG?" when arg looks like the value of one of fs's
// flags, else "".
func flagHint(fs *flag.FlagSet, arg string) string {
	var name string
	if st, err := os.Stat(arg); err == nil && st.IsDir() && fs.Lookup("rules") != nil {
		name = "rules"
	} else if (strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml")) && fs.Lookup("config") != nil {
		name = "config"
	}
	if name == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean --%s %s?", name, arg)
}

// envelopeFlag registers --envelope, defaulting to $EVENTPROC_ENVELOPE.
func envelopeFlag(fs *flag.FlagSet, env *cmdEnv) *string {
	return fs.String("envelope", env.getenv("EVENTPROC_ENVELOPE"), "the envelope `name` to use when events.d declares several (default: the one marked default)")
}

func envelopeOpts(envelope string) []engine.Option {
	if envelope == "" {
		return nil
	}
	return []engine.Option{engine.WithEnvelope(envelope)}
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
	sets, diags, err := engine.LoadEveryDir(*rules, envelopeOpts(*envelope)...)
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
		results := set.Rules.Test(ctx)
		cases += len(results)
		for _, r := range results {
			if !r.Passed {
				failed++
				r.Pos.File = engine.DirPath(*rules, r.Pos.File)
				diags = append(diags, engine.Diagnostic{Pos: r.Pos, Severity: engine.Error, Code: "test-failed",
					Message: fmt.Sprintf("test %q: %s", r.Case, r.Message)})
			}
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

func cmdTest(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet("test", env, "[--rules DIR] [--envelope NAME] [-v]")
	rules := rulesFlag(fs, env)
	envelope := fs.String("envelope", "", "run the suites of this envelope `name` only (default: every envelope)")
	verbose := fs.Bool("v", false, "list passing cases too")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return unexpectedArg(env, fs)
	}
	sets, diags, err := engine.LoadEveryDir(*rules, envelopeOpts(*envelope)...)
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
		for _, r := range set.Rules.Test(ctx) {
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

// maxLine bounds one NDJSON line: SQS's largest message (1 MiB) plus its newline.
const maxLine = 1<<20 + 1

// A line of `eventproc validate` output:
//
//	{"line":N,"valid":B,"event_type":S,"schema_version":S,"event_id":S,"key":{...},
//	 "violations":[{"rule":S,"field":S,"message":S}],"warnings":[...],"error":S}
//
// Empty fields are left out; key only when valid. It is written by hand, in this
// order, because validate's throughput is bound by its output.

// appendVerdict appends one verdict line (with its newline) to b.
func appendVerdict(b []byte, line int, v *engine.Verdict) []byte {
	b = append(b, `{"line":`...)
	b = strconv.AppendInt(b, int64(line), 10)
	b = append(b, `,"valid":`...)
	b = strconv.AppendBool(b, v != nil && v.Outcome == engine.Valid)
	if v == nil {
		return append(b, "}\n"...)
	}
	b = appendField(b, "event_type", v.EventType)
	b = appendField(b, "schema_version", v.Version)
	b = appendField(b, "event_id", v.EventID)
	if v.Persist != nil {
		b = append(b, `,"key":{`...)
		for i, k := range v.Persist.Key {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k.Name)
			b = append(b, ':')
			b = appendJSONString(b, fmt.Sprint(k.Value))
		}
		b = append(b, '}')
	}
	b = appendViolations(b, "violations", v.Violations)
	b = appendViolations(b, "warnings", v.Warnings)
	if v.Err != nil {
		b = appendField(b, "error", v.Err.Error())
	}
	return append(b, "}\n"...)
}

func appendField(b []byte, name, val string) []byte {
	if val == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendJSONString(b, val)
}

func appendViolations(b []byte, name string, vs []engine.Violation) []byte {
	if len(vs) == 0 {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, `":[`...)
	for i, x := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"rule":`...)
		b = appendJSONString(b, x.Rule)
		b = append(b, `,"field":`...)
		b = appendJSONString(b, x.Field)
		b = append(b, `,"message":`...)
		b = appendJSONString(b, x.Message)
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\ufffd"...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func cmdValidate(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet("validate", env, "[--rules DIR] [--envelope NAME] [FILE ...]   (NDJSON; stdin when no FILE or -)")
	rules := rulesFlag(fs, env)
	envelope := envelopeFlag(fs, env)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if misplacedRules(env, fs, fs.Args()) {
		return 2
	}
	rs, diags, err := engine.LoadDir(*rules, envelopeOpts(*envelope)...)
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
	v := &validator{rs: rs, out: out}
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
	fmt.Fprintf(env.stderr, "%d events: %d valid, %d invalid; %d blank lines skipped\n",
		v.valid+v.invalid, v.valid, v.invalid, v.blank)
	if v.invalid > 0 {
		return 1
	}
	return 0
}

// validator streams verdicts and counts them. A line is numbered by its place in
// the concatenated input, blank lines included.
type validator struct {
	rs                    *engine.Ruleset
	out                   *bufio.Writer
	buf                   []byte
	line                  int
	valid, invalid, blank int
}

// stream validates one NDJSON input, line by line, in constant memory. A blank line
// (nothing but spaces, tabs and a carriage return) is no message: it is counted and
// skipped, without a verdict.
func (v *validator) stream(ctx context.Context, r io.Reader) error {
	return forEachLine(ctx, r, func(line string, tooLong bool) {
		switch {
		case tooLong:
			v.emitTooLong()
		case isBlank(line):
			v.line++
			v.blank++
		default:
			v.emit(ctx, line)
		}
	})
}

// isBlank reports whether line holds nothing but JSON whitespace.
func isBlank(line string) bool {
	for i := 0; i < len(line); i++ {
		if c := line[i]; c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// forEachLine calls fn with each line of r, without its line ending, in constant
// memory: a line longer than maxLine is skipped and reported with tooLong.
func forEachLine(ctx context.Context, r io.Reader, fn func(line string, tooLong bool)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long)+len(chunk) > maxLine {
				if err := skipLine(br); err != nil {
					return err
				}
				fn("", true)
				long = long[:0]
			} else {
				long = append(long, chunk...)
			}
			continue
		}
		eof := errors.Is(err, io.EOF)
		if err != nil && !eof {
			return err
		}
		if len(chunk) == 0 && eof && len(long) == 0 {
			return nil
		}
		line := chunk
		if len(long) > 0 {
			long = append(long, chunk...)
			line = long
		}
		if len(line) > maxLine {
			fn("", true)
		} else {
			fn(strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r"), false)
		}
		long = long[:0]
		if eof {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// skipLine reads past the rest of the current line.
func skipLine(br *bufio.Reader) error {
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
	v.invalid++
	vd := &engine.Verdict{Outcome: engine.Invalid, Err: fmt.Errorf("line longer than %d bytes", maxLine-1)}
	v.buf = appendVerdict(v.buf[:0], v.line, vd)
	v.out.Write(v.buf)
}

func (v *validator) emit(ctx context.Context, body string) {
	v.line++
	vd := v.rs.Evaluate(ctx, body)
	if vd.Outcome == engine.Valid {
		v.valid++
	} else {
		v.invalid++
	}
	v.buf = appendVerdict(v.buf[:0], v.line, vd)
	v.out.Write(v.buf)
}
