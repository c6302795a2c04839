package engine

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Parsing: YAML nodes → model, reporting every problem with its position.

var (
	yamlLineRE      = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	unknownAnchorRE = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)
)

// parseYAML parses one file into its document node, or reports a yaml-syntax diagnostic.
func parseYAML(f *srcFile, src []byte) *yaml.Node {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		// yaml.v3 gives a line only, often an enclosing block's: where the text
		// shows the mistake, that is the place to report.
		f.unparsed = true
		if p, ok := locateSyntax(string(src)); ok {
			f.diags.add(Pos{File: f.name, Line: p.line, Col: p.col}, Error, "yaml-syntax", p.msg)
			return nil
		}
		msg := err.Error()
		line, col := 1, 1
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		} else {
			msg = strings.TrimPrefix(msg, "yaml: ")
		}
		if m := unknownAnchorRE.FindStringSubmatch(msg); m != nil {
			if l, c, ok := findAlias(f.lines, m[1]); ok {
				line, col = l, c
			}
		}
		hint, at := quoteHint(f.lines, line)
		if at > 0 {
			col = at
		}
		f.diags.add(Pos{File: f.name, Line: line, Col: col}, Error, "yaml-syntax", msg+hint)
		return nil
	}
	if len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if reportAnchors(f, root) {
		f.unparsed = true
		return nil
	}
	f.untag(root)
	return root
}

// untag reports the scalars YAML read with a tag of their own (an unquoted `!has(x)`
// is the tag "!has(x)"), and gives them back the text their author wrote, so that the
// rest of the file is checked as meant.
func (f *srcFile) untag(n *yaml.Node) {
	if text, ok := yamlTagText(n); ok {
		f.errorf(n, "yaml-tag", "YAML reads %s as a tag, not as text: quote the expression ('%s')", n.Tag, strings.ReplaceAll(text, "'", "''"))
		n.Tag, n.Value = "!!str", text
		return
	}
	for _, c := range n.Content {
		f.untag(c)
	}
}

// reportAnchors reports every anchor and alias, each where it is written, and says
// whether the file must be dropped. One on a plain scalar is an expression YAML read
// as an anchor or an alias (`expr: &x body.total > 0`): like untag, it says to quote
// the expression, and the rest of the file is checked. The node keeps the value YAML
// read (an alias that of its anchor): & and * start no CEL expression, so the text
// as written would only add a CEL syntax error at the same place.
// reportAnchors walks in document order, so an anchor is seen before its aliases.
func reportAnchors(f *srcFile, n *yaml.Node) bool {
	if text, ok := anchoredText(n); ok {
		what, ind := "an anchor", "&"+n.Anchor
		if n.Kind == yaml.AliasNode {
			what, ind = "an alias", "*"+n.Value
		}
		f.errorf(n, "yaml-alias", "YAML reads %s as %s, not as text: quote the expression ('%s')", ind, what, strings.ReplaceAll(text, "'", "''"))
		if n.Kind == yaml.AliasNode {
			// The text is the anchor's, and so is where a CEL error in it is.
			n.Value, n.Line, n.Column = n.Alias.Value, n.Alias.Line, n.Alias.Column
		} else if n.Line <= len(f.lines) {
			// A CEL error in the value is placed from where the value starts.
			line := []rune(f.lines[n.Line-1])
			c := n.Column - 1 + len([]rune(ind))
			for c < len(line) && (line[c] == ' ' || line[c] == '\t') {
				c++
			}
			n.Column = c + 1
		}
		n.Kind, n.Tag, n.Style, n.Anchor, n.Alias = yaml.ScalarNode, "!!str", 0, "", nil
		return false
	}
	drop := false
	switch {
	case n.Kind == yaml.AliasNode:
		f.errorf(n, "yaml-alias", "alias *%s: anchors and aliases are not supported in events.d; write the value out", n.Value)
		return true
	case n.Anchor != "":
		f.errorf(n, "yaml-alias", "anchor &%s: anchors and aliases are not supported in events.d; write the value out where it is used", n.Anchor)
		drop = true
	}
	for _, c := range n.Content {
		if reportAnchors(f, c) {
			drop = true
		}
	}
	return drop
}

// anchoredText is, for a plain scalar with an anchor or an alias of one, the text
// its author wrote.
func anchoredText(n *yaml.Node) (string, bool) {
	switch {
	case n.Kind == yaml.ScalarNode && n.Anchor != "" && n.Style == 0:
		if n.Value == "" {
			return "&" + n.Anchor, true
		}
		return "&" + n.Anchor + " " + n.Value, true
	case n.Kind == yaml.AliasNode && n.Alias != nil && n.Alias.Kind == yaml.ScalarNode && n.Alias.Style == 0:
		return "*" + n.Value, true
	}
	return "", false
}

var (
	identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// fieldNameRE: the JSON member names a field may have, those that celName makes
	// CEL identifiers.
	fieldNameRE = regexp.MustCompile(`^[A-Za-z_-][A-Za-z0-9_-]*$`)
)

// parseFields reads a mapping of field name → declaration. A name is the JSON member
// name as sent; CEL reaches it as celName(name), so two names that CEL would read as
// one are reported.
func (f *srcFile) parseFields(n *yaml.Node, what string, partial bool) []*fieldSpec {
	var out []*fieldSpec
	seen := map[string]*yaml.Node{}
	for _, kv := range f.entries(n, what) {
		if !fieldNameRE.MatchString(kv.key) {
			f.errorf(kv.k, "invalid-name", "field name %q cannot be read in CEL: use letters, digits, _ and - (read as _), not starting with a digit", kv.key)
			continue
		}
		cn := celName(kv.key)
		if prev, clash := seen[cn]; clash {
			f.errorf(kv.k, "invalid-name", "field name %q is %s in CEL, like %q at %s: rename one", kv.key, cn, prev.Value, f.pos(prev))
			continue
		}
		seen[cn] = kv.k
		fs := f.parseField(kv.v, what+"."+kv.key, partial)
		if fs != nil {
			fs.name, fs.key = kv.key, kv.k
			out = append(out, fs)
		}
	}
	return out
}

// parseField reads one field declaration. With partial (an extends override) the type
// may be omitted.
func (f *srcFile) parseField(n *yaml.Node, what string, partial bool) *fieldSpec {
	var req []string
	if !partial {
		req = []string{"type"}
	}
	m := f.mapping(n, what, fieldKeys, req)
	if n.Kind != yaml.MappingNode {
		return nil
	}
	fs := &fieldSpec{file: f, node: n, at: map[string]*yaml.Node{}}
	for k, kv := range m {
		if kv.valid {
			fs.at[k] = kv.v
		}
	}
	if kv, ok := m["type"]; ok && kv.valid {
		f.parseFieldType(fs, kv.v, what)
	}
	if kv, ok := m["required"]; ok && kv.valid {
		fs.required, _ = f.boolean(kv.v, what+".required")
	}
	if kv, ok := m["description"]; ok && kv.valid {
		fs.description, _ = f.str(kv.v, what+".description")
	}
	if kv, ok := m["pattern"]; ok && kv.valid {
		fs.pattern, _ = f.str(kv.v, what+".pattern")
	}
	if kv, ok := m["format"]; ok && kv.valid {
		fs.format, _ = f.str(kv.v, what+".format")
	}
	fs.min, fs.max = f.bound(m, what, "min"), f.bound(m, what, "max")
	fs.gt, fs.lt = f.bound(m, what, "gt"), f.bound(m, what, "lt")
	fs.minLen, fs.maxLen = f.length(m, what, "min_length"), f.length(m, what, "max_length")
	if kv, ok := m["enum"]; ok && kv.valid {
		fs.enum = f.parseEnum(kv.v, what)
	}
	if kv, ok := m["fields"]; ok && kv.valid {
		fs.fields = f.parseFields(kv.v, what+".fields", partial)
	}
	if kv, ok := m["default"]; ok && kv.valid {
		if kv.v.Kind != yaml.ScalarNode || kv.v.Tag == "!!null" {
			f.errorf(kv.v, "wrong-type", "%s.default must be a string, number or bool, not %s", what, kindName(kv.v))
		} else {
			fs.def = kv.v
		}
	}
	if kv, ok := m["items"]; ok && kv.valid {
		fs.items = f.parseField(kv.v, what+".items", partial)
	}
	return fs
}

// parseFieldType reads a field's type, reporting an unknown one (and marking the
// field, so that nothing which depends on its type is reported).
func (f *srcFile) parseFieldType(fs *fieldSpec, n *yaml.Node, what string) {
	s, ok := f.str(n, what+".type")
	if !ok {
		return
	}
	if contains(fieldTypes, s) {
		fs.typ = s
		return
	}
	msg := fmt.Sprintf("unknown field type %q (one of %s)", s, strings.Join(fieldTypes, ", "))
	if sg := suggest(s, fieldTypes); sg != "" {
		msg += fmt.Sprintf("; did you mean %q?", sg)
	}
	f.errorf(n, "unknown-type", "%s", msg)
	delete(fs.at, "type")
	fs.badType = true
}

// bound reads the numeric constraint key (min, max, gt, lt) of a field, nil when unset
// or not a number.
func (f *srcFile) bound(m map[string]keyval, what, key string) *float64 {
	if kv, ok := m[key]; ok && kv.valid {
		if v, ok := f.number(kv.v, what+"."+key); ok {
			return &v
		}
	}
	return nil
}

// length reads the length constraint key (min_length, max_length) of a field, nil
// when unset, not an integer, or negative.
func (f *srcFile) length(m map[string]keyval, what, key string) *int64 {
	if kv, ok := m[key]; ok && kv.valid {
		if v, ok := f.integer(kv.v, what+"."+key); ok {
			if v < 0 {
				f.errorf(kv.v, "invalid-value", "%s.%s must not be negative", what, key)
				return nil
			}
			return &v
		}
	}
	return nil
}

// parseEnum reads a field's enum: a non-empty list of strings and numbers.
func (f *srcFile) parseEnum(n *yaml.Node, what string) []any {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		f.errorf(n, "wrong-type", "%s.enum must be a non-empty list", what)
		return nil
	}
	var out []any
	for _, c := range n.Content {
		switch {
		case c.Kind == yaml.ScalarNode && c.Tag == "!!int":
			if v, ok := f.integer(c, what+".enum item"); ok {
				out = append(out, v)
			}
		case c.Kind == yaml.ScalarNode && c.Tag == "!!float":
			if v, ok := f.number(c, what+".enum item"); ok {
				out = append(out, v)
			}
		case c.Kind == yaml.ScalarNode && c.Tag == "!!str":
			out = append(out, c.Value)
		default:
			f.errorf(c, "wrong-type", "%s.enum items must be strings or numbers, not %s", what, kindName(c))
		}
	}
	return out
}

var ruleKeys = []string{"id", "expr", "message", "message_expr", "field", "severity", "description"}

func (f *srcFile) parseRules(n *yaml.Node, what string) []*ruleSpec {
	if n.Kind != yaml.SequenceNode {
		f.errorf(n, "wrong-type", "%s must be a list of rules, not %s", what, kindName(n))
		return nil
	}
	var out []*ruleSpec
	for i, rn := range n.Content {
		if r := f.parseRule(rn, fmt.Sprintf("%s[%d]", what, i)); r != nil {
			out = append(out, r)
		}
	}
	return out
}

// parseRule reads one rule, w naming it in diagnostics. It returns nil for a rule
// without an id or an expression (reported).
func (f *srcFile) parseRule(rn *yaml.Node, w string) *ruleSpec {
	m := f.mapping(rn, w, ruleKeys, []string{"id", "expr"})
	if rn.Kind != yaml.MappingNode {
		return nil
	}
	r := &ruleSpec{file: f, node: rn, severity: Error}
	if kv, ok := m["id"]; ok && kv.valid {
		if s, ok := f.str(kv.v, w+".id"); ok {
			if !ruleIDRE.MatchString(s) {
				f.errorf(kv.v, "invalid-name", "rule id %q must be letters, digits, '.', '-' or '_'", s)
			}
			r.id, r.idNode = s, kv.v
		}
	}
	if kv, ok := m["expr"]; ok && kv.valid {
		r.expr, _ = f.expr(kv.v, w+".expr")
		r.exprNode = kv.v
	}
	if kv, ok := m["message"]; ok && kv.valid {
		r.message, _ = f.str(kv.v, w+".message")
		r.msgNode = kv.v
	}
	if kv, ok := m["message_expr"]; ok && kv.valid {
		if r.msgNode != nil {
			f.errorf(kv.k, "conflicting-keys", "%s has both message and message_expr; keep one", w)
		}
		r.messageExpr, _ = f.expr(kv.v, w+".message_expr")
		r.msgNode = kv.v
	}
	if kv, ok := m["field"]; ok && kv.valid {
		r.field, _ = f.str(kv.v, w+".field")
		r.fieldNode = kv.v
	}
	if kv, ok := m["severity"]; ok && kv.valid {
		if s, ok := f.str(kv.v, w+".severity"); ok {
			switch s {
			case "error":
			case "warning":
				r.severity = Warning
			default:
				f.errorf(kv.v, "invalid-value", "%s.severity must be error or warning, not %q", w, s)
			}
		}
	}
	if r.idNode == nil || r.exprNode == nil {
		return nil
	}
	return r
}

var ruleIDRE = regexp.MustCompile(`^[A-Za-z0-9_.\-\[\]]+$`)

// parseExprs reads a mapping of name → CEL expression (variables, keys, attributes).
func (f *srcFile) parseExprs(n *yaml.Node, what string) []exprSpec {
	var out []exprSpec
	for _, kv := range f.entries(n, what) {
		if !identRE.MatchString(kv.key) {
			f.errorf(kv.k, "invalid-name", "%s name %q must be an identifier", what, kv.key)
			continue
		}
		if s, ok := f.expr(kv.v, what+"."+kv.key); ok {
			out = append(out, exprSpec{name: kv.key, expr: s, file: f, key: kv.k, node: kv.v})
		}
	}
	return out
}

var retryKeys = []string{"max_attempts", "initial_delay", "multiplier", "max_delay", "jitter"}

func (f *srcFile) parseRetry(n *yaml.Node, what string) *retrySpec {
	m := f.mapping(n, what, retryKeys, nil)
	rs := &retrySpec{file: f, node: n, at: map[string]*yaml.Node{}}
	for k, kv := range m {
		if !kv.valid {
			continue
		}
		rs.at[k] = kv.v
		switch k {
		case "max_attempts":
			if v, ok := f.integer(kv.v, what+".max_attempts"); ok {
				rs.maxAttempts = &v
			}
		case "initial_delay", "max_delay":
			if v, ok := f.duration(kv.v, what+"."+k); ok {
				if k == "initial_delay" {
					rs.initialDelay = &v
				} else {
					rs.maxDelay = &v
				}
			}
		case "multiplier", "jitter":
			if v, ok := f.number(kv.v, what+"."+k); ok {
				if k == "multiplier" {
					rs.multiplier = &v
				} else {
					rs.jitter = &v
				}
			}
		}
	}
	return rs
}

var persistKeys = []string{"table", "rejected_table", "key", "attributes"}

func (f *srcFile) parsePersist(n *yaml.Node, what string) *persistSpec {
	m := f.mapping(n, what, persistKeys, nil)
	ps := &persistSpec{file: f, node: n}
	if kv, ok := m["table"]; ok && kv.valid {
		ps.table, _ = f.str(kv.v, what+".table")
		ps.tableNode = kv.v
	}
	if kv, ok := m["rejected_table"]; ok && kv.valid {
		ps.rejectedTable, _ = f.str(kv.v, what+".rejected_table")
		ps.rejectedNode = kv.v
	}
	if kv, ok := m["key"]; ok && kv.valid {
		ps.key = f.parseExprs(kv.v, what+".key")
		ps.keyNode = kv.v
		if len(ps.key) == 0 && kv.v.Kind == yaml.MappingNode {
			f.errorf(kv.v, "invalid-value", "%s.key must name one or two key attributes", what)
		}
		if len(ps.key) > 2 {
			f.errorf(kv.v, "invalid-value", "%s.key has %d attributes; a DynamoDB key has a partition key and at most a sort key", what, len(ps.key))
		}
	}
	if kv, ok := m["attributes"]; ok && kv.valid {
		ps.attributes = f.parseExprs(kv.v, what+".attributes")
	}
	return ps
}

// parseTopLevel dispatches a non-test file on its top-level keys.
func (l *loader) parseTopLevel(f *srcFile, root *yaml.Node) {
	m := f.mapping(root, "file", []string{"envelope", "defaults", "type", "description", "compatibility", "retry", "persist", "versions"}, nil)
	if root.Kind != yaml.MappingNode {
		return
	}
	_, isEnv := m["envelope"]
	_, isDef := m["defaults"]
	_, isType := m["type"]
	count := 0
	for _, b := range []bool{isEnv, isDef, isType} {
		if b {
			count++
		}
	}
	switch {
	case count == 0:
		f.errorf(root, "unknown-file", "file declares none of envelope, defaults or type (test suites are named *_test.yaml)")
		return
	case count > 1:
		f.errorf(root, "unknown-file", "a file declares one of envelope, defaults or type, not several")
		return
	}
	if !isType {
		for _, k := range []string{"description", "compatibility", "retry", "persist", "versions"} {
			if kv, ok := m[k]; ok {
				f.errorf(kv.k, "unknown-key", "key %q belongs in an event type file", k)
			}
		}
	}
	switch {
	case isEnv:
		l.parseEnvelope(f, m["envelope"])
	case isDef:
		l.parseDefaults(f, m["defaults"])
	default:
		l.parseType(f, root, m)
	}
}

var envelopeKeys = []string{"name", "default", "type_field", "version_field", "version", "id_field", "body_field", "fields", "variables", "rules", "description"}

func (l *loader) parseEnvelope(f *srcFile, kv keyval) {
	n := kv.v
	m := f.mapping(n, "envelope", envelopeKeys, []string{"type_field", "id_field", "body_field", "fields"})
	e := &envelopeSpec{file: f, node: n, at: map[string]*yaml.Node{}, name: "default", nameNode: kv.k}
	if nk, ok := m["name"]; ok && nk.valid {
		if s, ok := f.str(nk.v, "envelope.name"); ok {
			e.name, e.nameNode = s, nk.v
		}
	}
	if dk, ok := m["default"]; ok && dk.valid {
		e.isDefault, _ = f.boolean(dk.v, "envelope.default")
	}
	for _, prev := range l.envelopes {
		if prev.name == e.name {
			f.errorf(e.nameNode, "duplicate-envelope", "a second envelope named %q is declared (the first is in %s); give each envelope its own name", e.name, prev.file.pos(prev.node))
			return
		}
	}
	l.envelopes = append(l.envelopes, e)
	for _, k := range []string{"type_field", "version_field", "id_field", "body_field"} {
		if kv, ok := m[k]; ok && kv.valid {
			s, _ := f.str(kv.v, "envelope."+k)
			e.at[k] = kv.v
			switch k {
			case "type_field":
				e.typeField = s
			case "version_field":
				e.versionField = s
			case "id_field":
				e.idField = s
			case "body_field":
				e.bodyField = s
			}
		}
	}
	f.parseVersionSource(e, n, m)
	if kv, ok := m["fields"]; ok && kv.valid {
		e.fields = f.parseFields(kv.v, "envelope.fields", false)
	}
	if kv, ok := m["variables"]; ok && kv.valid {
		e.variables = f.parseExprs(kv.v, "envelope.variables")
	}
	if kv, ok := m["rules"]; ok && kv.valid {
		e.rules = f.parseRules(kv.v, "envelope.rules")
	}
}

// parseVersionSource reads where the envelope's version comes from: exactly one of
// version_field (a header field, or a path into the body: BODY.member[.member…]) and
// version (a constant). A path's first segment must be the body field; it is checked
// here when body_field is known.
func (f *srcFile) parseVersionSource(e *envelopeSpec, n *yaml.Node, m map[string]keyval) {
	vf, hasField := m["version_field"]
	vc, hasConst := m["version"]
	switch {
	case hasField && hasConst:
		f.errorf(vc.k, "conflicting-keys", "envelope has both version_field and version; keep one (a field that carries the version, or the constant every message has)")
		return
	case !hasField && !hasConst:
		f.errorf(n, "missing-key", "envelope is missing required key %q (or a constant version)", "version_field")
		return
	case hasConst && vc.valid:
		if s, ok := f.str(vc.v, "envelope.version"); ok {
			if s == "" {
				f.errorf(vc.v, "invalid-value", "envelope.version must not be empty")
				return
			}
			e.version, e.at["version"] = s, vc.v
		}
		return
	}
	if !vf.valid || !strings.Contains(e.versionField, ".") {
		return
	}
	segs := strings.Split(e.versionField, ".")
	for i, s := range segs {
		if s == "" {
			f.errorf(vf.v, "invalid-value", "envelope.version_field %q has an empty segment (%d): write BODY_FIELD.member, e.g. detail.schema_version", e.versionField, i+1)
			return
		}
	}
	if e.bodyField != "" && segs[0] != e.bodyField {
		f.errorf(vf.v, "invalid-value", "envelope.version_field %q is a path, whose first segment must be the body field %q, not %q (a header field is named without dots)", e.versionField, e.bodyField, segs[0])
		return
	}
	e.versionPath = segs[1:]
}

func (l *loader) parseDefaults(f *srcFile, kv keyval) {
	if l.defaults != nil {
		f.errorf(kv.k, "duplicate-defaults", "a second defaults is declared (the first is in %s)", l.defaults.file.pos(l.defaults.node))
		return
	}
	n := kv.v
	m := f.mapping(n, "defaults", []string{"retry", "persist", "cost_limit"}, nil)
	d := &defaultsSpec{file: f, node: n}
	l.defaults = d
	if kv, ok := m["retry"]; ok && kv.valid {
		d.retry = f.parseRetry(kv.v, "defaults.retry")
	}
	if kv, ok := m["persist"]; ok && kv.valid {
		d.persist = f.parsePersist(kv.v, "defaults.persist")
	}
	if kv, ok := m["cost_limit"]; ok && kv.valid {
		if v, ok := f.integer(kv.v, "defaults.cost_limit"); ok {
			if v <= 0 {
				f.errorf(kv.v, "invalid-value", "defaults.cost_limit must be positive")
			} else {
				d.costLimit, d.costNode = &v, kv.v
			}
		}
	}
}

var versionKeys = []string{"extends", "description", "fields", "variables", "rules"}

func (l *loader) parseType(f *srcFile, root *yaml.Node, m map[string]keyval) {
	name, ok := f.str(m["type"].v, "type")
	if !ok {
		return
	}
	if !typeNameRE.MatchString(name) {
		f.errorf(m["type"].v, "invalid-name", "event type %q must be letters, digits, '.', '-' or '_'", name)
	}
	t := &typeSpec{name: name, file: f, node: root, nameNode: m["type"].v}
	if kv, ok := m["description"]; ok {
		t.description, _ = f.str(kv.v, "description")
	}
	if kv, ok := m["retry"]; ok {
		t.retry = f.parseRetry(kv.v, "retry")
	}
	if kv, ok := m["persist"]; ok {
		t.persist = f.parsePersist(kv.v, "persist")
	}
	t.compat = compatNone
	if kv, ok := m["compatibility"]; ok {
		f.parseCompat(t, kv.v)
	}
	kv, ok := m["versions"]
	if !ok {
		f.errorf(root, "missing-key", "event type %q declares no versions", name)
	}
	for _, vkv := range f.entries(kv.v, "versions") {
		t.versions = append(t.versions, f.parseVersion(t, vkv))
	}
	l.types = append(l.types, t)
}

// parseCompat reads a type's compatibility mode.
func (f *srcFile) parseCompat(t *typeSpec, n *yaml.Node) {
	s, ok := f.str(n, "compatibility")
	if !ok {
		return
	}
	if contains(compatModes, s) {
		t.compat, t.compatNode = s, n
		return
	}
	msg := fmt.Sprintf("compatibility must be one of %s, not %q", strings.Join(compatModes, ", "), s)
	if sg := suggest(s, compatModes); sg != "" {
		msg += fmt.Sprintf("; did you mean %q?", sg)
	}
	f.errorf(n, "invalid-value", "%s", msg)
}

// parseVersion reads one entry of a type's versions: its fields (an override of its
// parent's when it extends one), variables and rules.
func (f *srcFile) parseVersion(t *typeSpec, vkv keyval) *versionSpec {
	w := "versions." + vkv.key
	vm := f.mapping(vkv.v, w, versionKeys, nil)
	v := &versionSpec{name: vkv.key, typ: t, file: f, key: vkv.k, node: vkv.v}
	if e, ok := vm["extends"]; ok && e.valid {
		v.extends, _ = f.str(e.v, w+".extends")
		v.extendsNode = e.v
	} else if _, ok := vm["fields"]; !ok && vkv.v.Kind == yaml.MappingNode {
		f.errorf(vkv.v, "missing-key", "%s declares neither fields nor extends", w)
	}
	if e, ok := vm["description"]; ok && e.valid {
		v.description, _ = f.str(e.v, w+".description")
	}
	if e, ok := vm["fields"]; ok && e.valid {
		v.fields = f.parseFields(e.v, w+".fields", v.extends != "")
	}
	if e, ok := vm["variables"]; ok && e.valid {
		v.variables = f.parseExprs(e.v, w+".variables")
	}
	if e, ok := vm["rules"]; ok && e.valid {
		v.rules = f.parseRules(e.v, w+".rules")
	}
	return v
}

var typeNameRE = regexp.MustCompile(`^[A-Za-z0-9_.\-]+$`)
