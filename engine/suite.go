package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Test suites: *_test.yaml files beside the rules, with named cases, each an input
// message and the verdict it must get.

type suiteSpec struct {
	file     *srcFile
	envelope string // the envelope its messages are written in ("": the default one)
	base     *yaml.Node
	cases    []*caseSpec
}

type caseSpec struct {
	name   string
	node   *yaml.Node
	input  string // the message body; built at parse time
	expect expectation
}

type expectation struct {
	valid      bool
	violations []expectedViolation // nil: not checked (only with valid: false and no list)
	warnings   []expectedViolation
	checkWarn  bool
	errCode    string // decode | unknown_type | unknown_version | rule_failed
}

type expectedViolation struct{ rule, field string }

type suite struct {
	file  string
	cases []*caseSpec
}

// TestResult is the outcome of one test case.
type TestResult struct {
	Pos     Pos    // the case's position
	Case    string // its name
	Passed  bool
	Message string // why it failed
}

var errorCodes = []string{"decode", "unknown_type", "unknown_version", "rule_failed"}

func (l *loader) parseSuite(f *srcFile, root *yaml.Node) {
	m := f.mapping(root, "test suite", []string{"description", "envelope", "base", "cases"}, []string{"cases"})
	s := &suiteSpec{file: f}
	if kv, ok := m["envelope"]; ok && kv.valid {
		s.envelope, _ = f.str(kv.v, "envelope")
	}
	if kv, ok := m["base"]; ok && kv.valid {
		if kv.v.Kind != yaml.MappingNode {
			f.errorf(kv.v, "wrong-type", "base must be a mapping (a message), not %s", kindName(kv.v))
		} else {
			s.base = kv.v
		}
	}
	kv, ok := m["cases"]
	if !ok || !kv.valid {
		return
	}
	if kv.v.Kind != yaml.SequenceNode {
		f.errorf(kv.v, "wrong-type", "cases must be a list, not %s", kindName(kv.v))
		return
	}
	names := map[string]int{}
	for i, cn := range kv.v.Content {
		w := fmt.Sprintf("cases[%d]", i)
		cm := f.mapping(cn, w, []string{"name", "event", "raw", "set", "unset", "expect"}, []string{"name", "expect"})
		if cn.Kind != yaml.MappingNode {
			continue
		}
		c := &caseSpec{node: cn}
		if kv, ok := cm["name"]; ok && kv.valid {
			c.name, _ = f.str(kv.v, w+".name")
			if line, dup := names[c.name]; dup {
				f.errorf(kv.v, "duplicate-case", "test case %q is already declared at line %d", c.name, line)
			}
			names[c.name] = cn.Line
		}
		input, ok := f.caseInput(s.base, cm, w)
		if !ok {
			continue
		}
		c.input = input
		if kv, ok := cm["expect"]; ok && kv.valid {
			if c.expect, ok = f.parseExpect(kv.v, w+".expect"); !ok {
				continue
			}
		} else {
			continue
		}
		s.cases = append(s.cases, c)
	}
	l.suites = append(l.suites, s)
}

// caseInput builds the message body of a case: raw text, a whole event, or the
// suite's base with set/unset applied.
func (f *srcFile) caseInput(base *yaml.Node, cm map[string]keyval, w string) (string, bool) {
	raw, hasRaw := cm["raw"]
	ev, hasEvent := cm["event"]
	set, hasSet := cm["set"]
	unset, hasUnset := cm["unset"]
	switch {
	case hasRaw && (hasEvent || hasSet || hasUnset):
		f.errorf(raw.k, "conflicting-keys", "%s: raw cannot be combined with event, set or unset", w)
		return "", false
	case hasRaw:
		s, ok := f.str(raw.v, w+".raw")
		return s, ok
	}
	var doc any
	var err error
	switch {
	case hasEvent:
		doc, err = yamlValue(ev.v)
		if err != nil {
			f.errorf(ev.v, "invalid-value", "%s.event: %v", w, err)
			return "", false
		}
	case base != nil:
		doc, _ = yamlValue(base)
	default:
		f.errorf(cm["name"].k, "missing-key", "%s needs raw, event, or a suite base", w)
		return "", false
	}
	if hasSet {
		for _, e := range f.entries(set.v, w+".set") {
			val, err := yamlValue(e.v)
			if err != nil {
				f.errorf(e.v, "invalid-value", "%s.set.%s: %v", w, e.key, err)
				return "", false
			}
			if err := setPath(&doc, strings.Split(e.key, "."), val); err != nil {
				f.errorf(e.k, "invalid-value", "%s.set: %s: %v", w, e.key, err)
				return "", false
			}
		}
	}
	if hasUnset {
		for _, p := range f.strList(unset.v, w+".unset") {
			if !unsetPath(doc, strings.Split(p, ".")) {
				f.errorf(unset.v, "invalid-value", "%s.unset: %s is not in the message", w, p)
				return "", false
			}
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		f.errorf(cm["name"].k, "invalid-value", "%s: %v", w, err)
		return "", false
	}
	return strings.TrimSuffix(buf.String(), "\n"), true
}

func (f *srcFile) parseExpect(n *yaml.Node, w string) (expectation, bool) {
	if n.Kind == yaml.ScalarNode {
		if n.Value == "valid" {
			return expectation{valid: true}, true
		}
		f.errorf(n, "invalid-value", "%s must be valid or a mapping (violations, warnings, error)", w)
		return expectation{}, false
	}
	m := f.mapping(n, w, []string{"valid", "violations", "warnings", "error"}, nil)
	var e expectation
	ok := true
	if kv, has := m["valid"]; has && kv.valid {
		e.valid, _ = f.boolean(kv.v, w+".valid")
	}
	readList := func(key string) []expectedViolation {
		kv, has := m[key]
		if !has || !kv.valid {
			return nil
		}
		if kv.v.Kind != yaml.SequenceNode {
			f.errorf(kv.v, "wrong-type", "%s.%s must be a list", w, key)
			ok = false
			return nil
		}
		out := []expectedViolation{}
		for _, item := range kv.v.Content {
			im := f.mapping(item, w+"."+key+" item", []string{"rule", "field"}, []string{"rule"})
			var x expectedViolation
			if r, has := im["rule"]; has && r.valid {
				x.rule, _ = f.str(r.v, "rule")
			}
			if r, has := im["field"]; has && r.valid {
				x.field, _ = f.str(r.v, "field")
			}
			out = append(out, x)
		}
		return out
	}
	e.violations = readList("violations")
	if _, has := m["warnings"]; has {
		e.warnings, e.checkWarn = readList("warnings"), true
	}
	if kv, has := m["error"]; has && kv.valid {
		if s, good := f.str(kv.v, w+".error"); good {
			if !contains(errorCodes, s) {
				f.errorf(kv.v, "invalid-value", "%s.error must be one of %s, not %q", w, strings.Join(errorCodes, ", "), s)
				ok = false
			}
			e.errCode = s
		}
	}
	if e.valid && (len(e.violations) > 0 || e.errCode != "") {
		f.errorf(n, "conflicting-keys", "%s: a valid case has no violations or error", w)
		ok = false
	}
	if !e.valid && e.violations == nil && e.errCode == "" {
		f.errorf(n, "missing-key", "%s must say valid: true, list the violations, or name the error", w)
		ok = false
	}
	return e, ok
}

// buildSuites keeps the suites written in the selected envelope; a suite that names
// no envelope is written in the default one (the one selected without WithEnvelope).
func (l *loader) buildSuites(rs *Ruleset) []*suite {
	def := ""
	if len(l.envelopes) == 1 {
		def = l.envelopes[0].name
	}
	for _, e := range l.envelopes {
		if e.isDefault {
			def = e.name
		}
	}
	var out []*suite
	for _, s := range l.suites {
		name := s.envelope
		if name == "" {
			name = def
		}
		known := false
		for _, e := range l.envelopes {
			known = known || e.name == name
		}
		if s.envelope != "" && !known {
			s.file.errorf(s.file.lines0(), "unknown-envelope", "the suite's envelope %q is not declared", s.envelope)
			continue
		}
		if l.envelope != nil && name == l.envelope.name {
			out = append(out, &suite{file: s.file.name, cases: s.cases})
		}
	}
	return out
}

// Test runs every test suite and returns one result per case, in file order.
func (rs *Ruleset) Test(ctx context.Context) []TestResult {
	var out []TestResult
	for _, s := range rs.suites {
		for _, c := range s.cases {
			r := TestResult{Pos: Pos{File: s.file, Line: c.node.Line, Col: c.node.Column}, Case: c.name}
			v := rs.Evaluate(ctx, c.input)
			r.Message = c.expect.compare(v)
			r.Passed = r.Message == ""
			out = append(out, r)
		}
	}
	return out
}

// TestDiagnostics runs the suites and reports each failing case as a test-failed error.
func (rs *Ruleset) TestDiagnostics(ctx context.Context) Diagnostics {
	var ds Diagnostics
	for _, r := range rs.Test(ctx) {
		if !r.Passed {
			ds.add(r.Pos, Error, "test-failed", fmt.Sprintf("test %q: %s", r.Case, r.Message))
		}
	}
	return ds
}

// errorCode names a verdict's error for expectations.
func errorCode(v *Verdict) string {
	var de *DecodeError
	var ue *UnknownTypeError
	var re *RuleError
	switch {
	case errors.As(v.Err, &de):
		return "decode"
	case errors.As(v.Err, &ue) && ue.Version == "":
		return "unknown_type"
	case errors.As(v.Err, &ue):
		return "unknown_version"
	case errors.As(v.Err, &re):
		return "rule_failed"
	}
	return ""
}

// compare returns "" when v meets the expectation, else what differs.
func (e expectation) compare(v *Verdict) string {
	got := describe(v)
	if e.valid {
		if v.Outcome != Valid {
			return "expected valid, got " + got
		}
	} else {
		if v.Outcome == Valid {
			return "expected invalid, got valid"
		}
		if code := errorCode(v); code != e.errCode {
			if e.errCode == "" {
				return "expected violations, got " + got
			}
			return fmt.Sprintf("expected error %s, got %s", e.errCode, got)
		}
		if e.violations != nil {
			if d := diffViolations(e.violations, v.Violations); d != "" {
				return "violations differ: " + d + "; got " + got
			}
		}
	}
	if e.checkWarn {
		if d := diffViolations(e.warnings, v.Warnings); d != "" {
			return "warnings differ: " + d
		}
	}
	return ""
}

func describe(v *Verdict) string {
	switch {
	case v.Outcome == Valid:
		return "valid"
	case v.Err != nil && len(v.Violations) == 0:
		return fmt.Sprintf("%s (%s)", errorCode(v), v.Err)
	}
	var parts []string
	for _, x := range v.Violations {
		parts = append(parts, fmt.Sprintf("%s on %s: %s", x.Rule, x.Field, x.Message))
	}
	s := "[" + strings.Join(parts, "; ") + "]"
	if v.Err != nil {
		s += " and " + v.Err.Error()
	}
	return s
}

func diffViolations(want []expectedViolation, got []Violation) string {
	used := make([]bool, len(got))
	var missing, extra []string
	for _, w := range want {
		found := false
		for i, g := range got {
			if !used[i] && g.Rule == w.rule && (w.field == "" || w.field == g.Field) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			s := w.rule
			if w.field != "" {
				s += " on " + w.field
			}
			missing = append(missing, s)
		}
	}
	for i, g := range got {
		if !used[i] {
			extra = append(extra, g.Rule+" on "+g.Field)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "missing "+strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		parts = append(parts, "unexpected "+strings.Join(extra, ", "))
	}
	return strings.Join(parts, "; ")
}

// ordered is a JSON object that keeps the key order of the YAML it came from.
type ordered struct {
	keys []string
	vals map[string]any
}

func (o *ordered) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		vb, err := marshalNoEscape(o.vals[k])
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

var jsonNumberRE = regexp.MustCompile(`^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$`)

// yamlValue converts YAML to JSON-ready values; numbers keep their literal.
func yamlValue(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.MappingNode:
		o := &ordered{vals: map[string]any{}}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			v, err := yamlValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			if _, dup := o.vals[k]; !dup {
				o.keys = append(o.keys, k)
			}
			o.vals[k] = v
		}
		return o, nil
	case yaml.SequenceNode:
		out := []any{}
		for _, c := range n.Content {
			v, err := yamlValue(c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return nil, nil
		case "!!bool":
			var b bool
			err := n.Decode(&b)
			return b, err
		case "!!int", "!!float":
			if jsonNumberRE.MatchString(n.Value) {
				return json.Number(n.Value), nil
			}
			var f float64
			if err := n.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				return nil, fmt.Errorf("%q is not a JSON number", n.Value)
			}
			if f == math.Trunc(f) && math.Abs(f) < 1e15 {
				return json.Number(strconv.FormatInt(int64(f), 10)), nil
			}
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
		}
		return n.Value, nil
	}
	return nil, fmt.Errorf("unsupported YAML value at line %d", n.Line)
}

func setPath(doc *any, path []string, val any) error {
	if len(path) == 0 {
		*doc = val
		return nil
	}
	o, ok := (*doc).(*ordered)
	if !ok {
		if *doc != nil {
			return fmt.Errorf("%s is not an object", path[0])
		}
		o = &ordered{vals: map[string]any{}}
		*doc = o
	}
	child, exists := o.vals[path[0]]
	if !exists {
		o.keys = append(o.keys, path[0])
	}
	if err := setPath(&child, path[1:], val); err != nil {
		return err
	}
	o.vals[path[0]] = child
	return nil
}

func unsetPath(doc any, path []string) bool {
	o, ok := doc.(*ordered)
	if !ok || len(path) == 0 {
		return false
	}
	if len(path) > 1 {
		return unsetPath(o.vals[path[0]], path[1:])
	}
	if _, ok := o.vals[path[0]]; !ok {
		return false
	}
	delete(o.vals, path[0])
	for i, k := range o.keys {
		if k == path[0] {
			o.keys = append(o.keys[:i], o.keys[i+1:]...)
			break
		}
	}
	return true
}
