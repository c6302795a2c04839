package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"eventproc/engine"
	"eventproc/limits"
)

func cmdValidate(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet("validate", env, "[--rules DIR] [--envelope NAME] [--transport auto|raw|sns] [FILE ...]   (NDJSON; stdin when no FILE or -)")
	rules := rulesFlag(fs, env)
	envelope := envelopeFlag(fs, env)
	transport := transportFlag(fs)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if misplacedRules(env, fs, fs.Args()) {
		return 2
	}
	rs, diags, err := engine.LoadDir(*rules, engine.WithEnvelope(*envelope))
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
	v := &validator{rs: rs, out: out, transport: engine.WithTransport(*transport)}
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

// maxLine bounds one NDJSON line: SQS's largest message (1 MiB) plus its newline.
const maxLine = limits.MessageBytes + 1

// A line of `eventproc validate` output:
//
//	{"line":N,"valid":B,"event_type":S,"schema_version":S,"event_id":S,"topic_arn":S,
//	 "key":{...},"violations":[{"rule":S,"field":S,"message":S}],"warnings":[...],"error":S}
//
// Empty fields are left out; key only when valid; topic_arn only for an event that
// came in an SNS notification. It is written by hand, in this
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
	if m := v.Message; m != nil && m.Transport == engine.TransportSNS {
		b = appendField(b, "topic_arn", m.TopicARN)
	}
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

// validator streams verdicts and counts them. A line is numbered by its place in
// the concatenated input, blank lines included.
type validator struct {
	rs                    *engine.Ruleset
	transport             engine.EvalOption
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
	vd := v.rs.Evaluate(ctx, body, v.transport)
	if vd.Outcome == engine.Valid {
		v.valid++
	} else {
		v.invalid++
	}
	v.buf = appendVerdict(v.buf[:0], v.line, vd)
	v.out.Write(v.buf)
}
