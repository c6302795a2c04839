package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path"
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

	msg       *Message  // the case's message metadata (nil: none given)
	transport Transport // how input is read ("": auto)

	// What the declarations check once loaded (nothing for raw cases).
	doc   any         // the message as built from event or base, set and unset
	from  *yaml.Node  // the mapping it was built from: event, else the suite's base
	edits []*caseEdit // set and unset, in order
}

// caseEdit is one path a case sets or unsets.
type caseEdit struct {
	path  string
	node  *yaml.Node // the set key, or the unset item
	value *yaml.Node // the value set (nil for unset)
}

type expectation struct {
	valid      bool
	violations []expectedViolation // nil: not checked (only with valid: false and no list)
	warnings   []expectedViolation
	checkWarn  bool
	errCode    string // decode | transport | unknown_type | unknown_version | rule_failed
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

var errorCodes = []string{"decode", "transport", "unknown_type", "unknown_version", "rule_failed"}

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
		cm := f.mapping(cn, w, []string{"name", "event", "raw", "set", "unset", "message", "transport", "expect"}, []string{"name", "expect"})
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
		if !f.caseInput(c, s.base, cm, w) || !f.caseDelivery(c, cm, w) {
			continue
		}
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

// caseInput builds the message body of a case (c.input): raw text, a whole event, or
// the suite's base with set/unset applied.
func (f *srcFile) caseInput(c *caseSpec, base *yaml.Node, cm map[string]keyval, w string) bool {
	raw, hasRaw := cm["raw"]
	ev, hasEvent := cm["event"]
	set, hasSet := cm["set"]
	unset, hasUnset := cm["unset"]
	switch {
	case hasRaw && (hasEvent || hasSet || hasUnset):
		f.errorf(raw.k, "conflicting-keys", "%s: raw cannot be combined with event, set or unset", w)
		return false
	case hasRaw:
		s, ok := f.str(raw.v, w+".raw")
		c.input = s
		return ok
	}
	var doc any
	var err error
	switch {
	case hasEvent:
		doc, err = yamlValue(ev.v)
		if err != nil {
			f.errorf(ev.v, "invalid-value", "%s.event: %v", w, err)
			return false
		}
		c.from = ev.v
	case base != nil:
		doc, _ = yamlValue(base)
		c.from = base
	default:
		f.errorf(cm["name"].k, "missing-key", "%s needs raw, event, or a suite base", w)
		return false
	}
	if hasSet && !f.caseSet(c, &doc, set.v, w) {
		return false
	}
	if hasUnset && !f.caseUnset(c, doc, unset.v, w) {
		return false
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		f.errorf(cm["name"].k, "invalid-value", "%s: %v", w, err)
		return false
	}
	c.input, c.doc = strings.TrimSuffix(buf.String(), "\n"), doc
	return true
}

// caseSet applies a case's set: each dotted path of n gets its value in *doc.
func (f *srcFile) caseSet(c *caseSpec, doc *any, n *yaml.Node, w string) bool {
	for _, e := range f.entries(n, w+".set") {
		val, err := yamlValue(e.v)
		if err != nil {
			f.errorf(e.v, "invalid-value", "%s.set.%s: %v", w, e.key, err)
			return false
		}
		if err := setPath(doc, strings.Split(e.key, "."), val); err != nil {
			f.errorf(e.k, "invalid-value", "%s.set: %s: %v", w, e.key, err)
			return false
		}
		c.edits = append(c.edits, &caseEdit{path: e.key, node: e.k, value: e.v})
	}
	return true
}

// caseUnset applies a case's unset: each dotted path listed in n is removed from doc.
func (f *srcFile) caseUnset(c *caseSpec, doc any, n *yaml.Node, w string) bool {
	if n.Kind != yaml.SequenceNode {
		f.errorf(n, "wrong-type", "%s.unset must be a list, not %s", w, kindName(n))
		return false
	}
	for _, item := range n.Content {
		p, ok := f.str(item, w+".unset item")
		if !ok {
			return false
		}
		if !unsetPath(doc, strings.Split(p, ".")) {
			f.errorf(item, "invalid-value", "%s.unset: %s is not in the message", w, p)
			return false
		}
		c.edits = append(c.edits, &caseEdit{path: p, node: item})
	}
	return true
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
	var listOK bool
	e.violations, listOK = f.expectedViolations(m, w, "violations")
	ok = ok && listOK
	if _, has := m["warnings"]; has {
		e.warnings, listOK = f.expectedViolations(m, w, "warnings")
		e.checkWarn, ok = true, ok && listOK
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

// expectedViolations reads the list of violations (or warnings) under key of an
// expect mapping m: nil when there is none, false when it is not a list.
func (f *srcFile) expectedViolations(m map[string]keyval, w, key string) ([]expectedViolation, bool) {
	kv, has := m[key]
	if !has || !kv.valid {
		return nil, true
	}
	if kv.v.Kind != yaml.SequenceNode {
		f.errorf(kv.v, "wrong-type", "%s.%s must be a list", w, key)
		return nil, false
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
	return out, true
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
		if l.envelope != nil && name == l.envelope.name && rs.env != nil {
			l.checkCases(rs, s)
			out = append(out, &suite{file: s.file.name, cases: s.cases})
		}
	}
	return out
}

// checkCases checks a suite's messages against the declarations: the event type must
// be declared (unless the case expects unknown_type), and set and unset must name
// declared fields (a misspelt path would otherwise be added or refused silently, and
// the case fail for a reason it does not show). A message meant to carry undeclared
// keys is written whole, with event or raw.
func (l *loader) checkCases(rs *Ruleset, s *suiteSpec) {
	reported := map[*yaml.Node]bool{}
	for _, c := range s.cases {
		top, ok := c.doc.(*ordered)
		if !ok {
			continue // raw
		}
		typ, _ := top.vals[rs.env.typeField].(string)
		ver := rs.env.versionOf(top)
		var body *objSchema
		if t := rs.types[typ]; t == nil {
			if typ != "" && c.expect.errCode != "unknown_type" && !l.typeFileUnparsed() {
				if n, ownNode := c.typeNode(rs.env.typeField); !reported[n] {
					reported[n] = true
					who := "the suite's base"
					if ownNode || c.from != s.base {
						who = fmt.Sprintf("test %q", c.name)
					}
					s.file.errorf(n, "unknown-type", "%s: event type %q is not declared in events.d%s", who, typ, l.nearestType(typ))
				}
			}
		} else if v := t.versions[ver]; v != nil {
			body = v.body
		}
		for _, e := range c.edits {
			l.checkEdit(s.file, c, e, rs.env, body)
		}
	}
}

// typeFileUnparsed reports whether a file other than a suite was dropped for a YAML
// problem: it may be the one that declares the types the suites name.
func (l *loader) typeFileUnparsed() bool {
	for _, f := range l.files {
		base := path.Base(f.name)
		if f.unparsed && !strings.HasSuffix(base, "_test.yaml") && !strings.HasSuffix(base, "_test.yml") {
			return true
		}
	}
	return false
}

// typeNode is the node that gives a case's message its event type; set says whether
// it is one of the case's own set entries.
func (c *caseSpec) typeNode(typeField string) (n *yaml.Node, set bool) {
	for i := len(c.edits) - 1; i >= 0; i-- {
		if e := c.edits[i]; e.path == typeField && e.value != nil {
			return e.value, true
		}
	}
	if c.from != nil && c.from.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(c.from.Content); i += 2 {
			if c.from.Content[i].Value == typeField {
				return c.from.Content[i+1], false
			}
		}
	}
	return c.node, true
}

// nearestType suggests the declared event type nearest to name, with its file.
func (l *loader) nearestType(name string) string {
	files := map[string]string{}
	var names []string
	for _, t := range l.types {
		if _, seen := files[t.name]; !seen {
			files[t.name] = t.file.name
			names = append(names, t.name)
		}
	}
	sg := suggest(name, names)
	if sg == "" {
		return fmt.Sprintf(" (declared: %s)", strings.Join(names, ", "))
	}
	return fmt.Sprintf("; did you mean %q (declared in %s)?", sg, files[sg])
}

// checkEdit resolves a set or unset path against the header and, when the message's
// type and version are declared, the body.
func (l *loader) checkEdit(f *srcFile, c *caseSpec, e *caseEdit, env *envelope, body *objSchema) {
	parts := strings.Split(e.path, ".")
	o, rest, where := env.header, parts, "the header"
	if env.versionPath != nil && e.path == env.versionField {
		return // the envelope declares it, whether the body's schema does or not
	}
	if parts[0] == env.bodyField {
		if body == nil || len(parts) == 1 {
			return // the body itself, or a body of an undeclared type or version
		}
		o, rest, where = body, parts[1:], env.bodyField
	}
	verb := "set"
	if e.value == nil {
		verb = "unset"
	}
	for i, p := range rest {
		idx, ok := o.byName[p]
		if !ok {
			names := make([]string, len(o.fields))
			for j, fs := range o.fields {
				names[j] = fs.name
			}
			f.errorf(e.node, "unknown-field", "test %q: %s %s: %s declares no field %q%s (to send undeclared keys, write the whole message with event or raw)", c.name, verb, e.path, where, p, didYouMean(p, names))
			return
		}
		fs := o.fields[idx]
		if i < len(rest)-1 && fs.obj == nil {
			f.errorf(e.node, "unknown-field", "test %q: %s %s: %s is %s, not an object", c.name, verb, e.path, fs.path, fs.typ)
			return
		}
		o, where = fs.obj, fs.path
	}
}

// Test runs every test suite and returns one result per case, in file order. opts
// apply to every case: WithTransport sets the transport of the cases that name none
// (auto by default), as --transport does for eventproc test; with TransportSNS those
// cases are delivered wrapped in SNS notifications, so the suites show the rules judge
// events the same through SNS.
func (rs *Ruleset) Test(ctx context.Context, opts ...EvalOption) []TestResult {
	def := mergeOptions(opts).transport
	var out []TestResult
	for _, s := range rs.suites {
		for _, c := range s.cases {
			r := TestResult{Pos: Pos{File: s.file, Line: c.node.Line, Col: c.node.Column}, Case: c.name}
			input, copts := c.delivery(def)
			v := rs.Evaluate(ctx, input, append(append([]EvalOption(nil), opts...), copts...)...)
			r.Message = c.expect.compare(v)
			r.Passed = r.Message == ""
			out = append(out, r)
		}
	}
	return out
}

// TestDiagnostics runs the suites and reports each failing case as a test-failed error,
// with the number of cases run.
func (rs *Ruleset) TestDiagnostics(ctx context.Context) (ds Diagnostics, cases int) {
	results := rs.Test(ctx)
	for _, r := range results {
		if !r.Passed {
			ds.add(r.Pos, Error, "test-failed", fmt.Sprintf("test %q: %s", r.Case, r.Message))
		}
	}
	return ds, len(results)
}

// errorCode names a verdict's error for expectations.
func errorCode(v *Verdict) string {
	var de *DecodeError
	var ue *UnknownTypeError
	var re *RuleError
	var te *TransportError
	switch {
	case errors.As(v.Err, &de):
		return "decode"
	case errors.As(v.Err, &te):
		return "transport"
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
