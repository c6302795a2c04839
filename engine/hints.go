package engine

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/parser"
	"gopkg.in/yaml.v3"
)

// Hints: what the compiler adds to CEL's own messages (the declared names nearest to
// a misspelt one), expressions that YAML took for a tag, and reads of optional fields
// that a message without them turns into a rule failure.

// fieldMiss is a field looked up on a declared object that has no such field.
type fieldMiss struct {
	obj   *objSchema
	field string
}

// startMisses starts recording field look-ups that find nothing (the checker's
// "undefined field" errors); takeMisses stops and returns them, in look-up order.
func (p *provider) startMisses() {
	p.mu.Lock()
	p.recording, p.misses = true, nil
	p.mu.Unlock()
}

func (p *provider) takeMisses() []fieldMiss {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.misses
	p.recording, p.misses = false, nil
	return out
}

func (p *provider) miss(o *objSchema, field string) {
	p.mu.Lock()
	if p.recording {
		p.misses = append(p.misses, fieldMiss{o, field})
	}
	p.mu.Unlock()
}

// didYouMean is "; did you mean "x"?" for the known name nearest to s, or "".
func didYouMean(s string, known []string) string {
	if sg := suggest(s, known); sg != "" && sg != s {
		return fmt.Sprintf("; did you mean %q?", sg)
	}
	return ""
}

// undefinedFieldHint names the declared field nearest to an undefined one.
func undefinedFieldHint(field string, misses []fieldMiss, used map[int]bool) string {
	for i, m := range misses {
		if used[i] || m.field != field {
			continue
		}
		used[i] = true
		names := make([]string, len(m.obj.fields))
		for j, f := range m.obj.fields {
			names[j] = f.cel
			if f.cel != f.name && strings.HasPrefix(f.name, field+"-") {
				// header.detail-type reads as header.detail minus type.
				return fmt.Sprintf("; did you mean %q? (the field %s is %s in CEL: '-' is a minus)", f.cel, f.name, f.cel)
			}
		}
		return didYouMean(field, names)
	}
	return ""
}

// undeclaredHint names the variable in scope (or the function, for a call) nearest to
// an undeclared reference, found by the id of the expression the checker reported.
func undeclaredHint(env *cel.Env, objs map[string]*objSchema, parsed *cel.Ast, id int64, name string) string {
	if parsed == nil {
		return ""
	}
	e, scope := findExpr(parsed.NativeRep().Expr(), id, nil)
	if e == nil {
		return ""
	}
	var known []string
	if e.Kind() == celast.CallKind {
		for fn := range env.Functions() {
			if fn != "" && fn[0] != '_' && fn[0] != '@' && !strings.Contains(fn, " ") {
				known = append(known, fn)
			}
		}
		sort.Strings(known)
		return didYouMean(name, known)
	}
	// Variables first, then the fields of the declared objects among them (a bare
	// total_wieght may mean body.total_weight).
	qualified := map[string]string{}
	vars := env.Variables()
	sort.Slice(vars, func(i, j int) bool { return vars[i].Name() < vars[j].Name() })
	for _, v := range vars {
		known = append(known, v.Name())
		qualified[v.Name()] = v.Name()
	}
	for _, s := range scope {
		known = append(known, s)
		qualified[s] = s
	}
	for _, v := range vars {
		if o := objs[v.Type().TypeName()]; o != nil {
			for _, f := range o.fields {
				if _, taken := qualified[f.cel]; !taken {
					known = append(known, f.cel)
					qualified[f.cel] = v.Name() + "." + f.cel
				}
			}
		}
	}
	if sg := suggest(name, known); sg != "" && sg != name {
		return fmt.Sprintf("; did you mean %q?", qualified[sg])
	}
	return ""
}

// findExpr finds the expression with the given id, and the comprehension variables in
// scope there.
func findExpr(e celast.Expr, id int64, scope []string) (celast.Expr, []string) {
	if e == nil {
		return nil, nil
	}
	if e.ID() == id {
		return e, scope
	}
	if e.Kind() == celast.ComprehensionKind {
		c := e.AsComprehension()
		for _, x := range []celast.Expr{c.IterRange(), c.AccuInit()} {
			if f, s := findExpr(x, id, scope); f != nil {
				return f, s
			}
		}
		inner := append(append([]string(nil), scope...), c.IterVar())
		if c.HasIterVar2() {
			inner = append(inner, c.IterVar2())
		}
		for _, x := range []celast.Expr{c.LoopCondition(), c.LoopStep(), c.Result()} {
			if f, s := findExpr(x, id, inner); f != nil {
				return f, s
			}
		}
		return nil, nil
	}
	for _, x := range children(e) {
		if f, s := findExpr(x, id, scope); f != nil {
			return f, s
		}
	}
	return nil, nil
}

// children lists the sub-expressions of anything but a comprehension.
func children(e celast.Expr) []celast.Expr {
	switch e.Kind() {
	case celast.SelectKind:
		return []celast.Expr{e.AsSelect().Operand()}
	case celast.CallKind:
		c := e.AsCall()
		var out []celast.Expr
		if c.IsMemberFunction() {
			out = append(out, c.Target())
		}
		return append(out, c.Args()...)
	case celast.ListKind:
		return e.AsList().Elements()
	case celast.MapKind:
		var out []celast.Expr
		for _, en := range e.AsMap().Entries() {
			m := en.AsMapEntry()
			out = append(out, m.Key(), m.Value())
		}
		return out
	case celast.StructKind:
		var out []celast.Expr
		for _, f := range e.AsStruct().Fields() {
			out = append(out, f.AsStructField().Value())
		}
		return out
	}
	return nil
}

var containerNoise = regexp.MustCompile(` \(in container ''\)$`)

// yamlTagText is, for a scalar whose first word YAML took for a tag (an unquoted
// `!has(x)`), the text its author wrote.
func yamlTagText(n *yaml.Node) (string, bool) {
	if n == nil || n.Kind != yaml.ScalarNode || !strings.HasPrefix(n.Tag, "!") || strings.HasPrefix(n.Tag, "!!") {
		return "", false
	}
	if n.Value == "" {
		return n.Tag, true
	}
	return n.Tag + " " + n.Value, true
}

// quoteHint explains a YAML syntax error on a line whose value starts with &, * or !
// (an anchor, an alias or a tag to YAML): the expression must be quoted. col is the
// 1-based column of the indicator (0 with no hint).
func quoteHint(lines []string, line int) (hint string, col int) {
	if line < 1 || line > len(lines) {
		return "", 0
	}
	text := lines[line-1]
	m := indicatorRE.FindStringSubmatchIndex(text)
	if m == nil {
		return "", 0
	}
	ind := text[m[2]:m[3]]
	return fmt.Sprintf(" (YAML reads a value starting with %s as %s: quote the expression)", ind, indicatorWords[ind]), utf8.RuneCountInString(text[:m[2]]) + 1
}

// findAlias finds where the alias *name is written as a value (after "key: ", "- ",
// or in a flow): yaml.v3 reports an unknown anchor without a line. line and col are
// 1-based.
func findAlias(lines []string, name string) (line, col int, ok bool) {
	for i, text := range lines {
		for at := 0; ; {
			j := strings.Index(text[at:], "*"+name)
			if j < 0 {
				break
			}
			j += at
			at = j + 1
			end := j + 1 + len(name)
			if end < len(text) && !strings.ContainsRune(" \t,]}#", rune(text[end])) {
				continue // a longer name
			}
			before := strings.TrimRight(text[:j], " \t")
			if before == "" || strings.HasSuffix(before, ":") || strings.HasSuffix(before, "-") || strings.ContainsAny(before[len(before)-1:], "[{,") {
				return i + 1, utf8.RuneCountInString(text[:j]) + 1, true
			}
		}
	}
	return 0, 0, false
}

var (
	indicatorRE    = regexp.MustCompile(`^\s*(?:-\s+)?[A-Za-z_][\w.]*:\s+([!&*])`)
	indicatorWords = map[string]string{"!": "a tag", "&": "an anchor", "*": "an alias"}
)

// Optional reads. A field that is neither required nor defaulted may be absent, and
// reading an absent field is an error: the rule fails (rule_failed) instead of giving
// a verdict. A read is guarded when the expression only depends on it once has() of
// the same selection is known true: has(x.f) && …x.f…, !has(x.f) || …, has(x.f) ? x.f
// : …, or x.?f. CEL's && and || absorb an error on one side when the other decides,
// so a guard on either side counts.

// optionalRead is one unguarded read of an optional field.
type optionalRead struct {
	id    int64
	field *fieldSchema
	sel   string // the selection as CEL text, for has(…)
}

// unguardedReads finds the unguarded reads of optional fields in a checked expression,
// given selections already known present (known).
func unguardedReads(a *cel.Ast, objs map[string]*objSchema, known map[string]bool) []optionalRead {
	g := &guards{ast: a.NativeRep(), objs: objs}
	g.walk(g.ast.Expr(), known)
	return g.out
}

type guards struct {
	ast  *celast.AST
	objs map[string]*objSchema
	out  []optionalRead
}

func (g *guards) walk(e celast.Expr, known map[string]bool) {
	switch e.Kind() {
	case celast.SelectKind:
		s := e.AsSelect()
		if !s.IsTestOnly() {
			if f := g.optionalField(s); f != nil {
				k := selKey(e)
				if k == "" || !known[k] {
					g.out = append(g.out, optionalRead{id: e.ID(), field: f, sel: g.text(e)})
				}
			}
		}
		g.walk(s.Operand(), known)
		return
	case celast.CallKind:
		c := e.AsCall()
		args := c.Args()
		switch {
		case c.FunctionName() == "_&&_" && len(args) == 2:
			g.walk(args[0], union(known, facts(args[1], true)))
			g.walk(args[1], union(known, facts(args[0], true)))
			return
		case c.FunctionName() == "_||_" && len(args) == 2:
			g.walk(args[0], union(known, facts(args[1], false)))
			g.walk(args[1], union(known, facts(args[0], false)))
			return
		case c.FunctionName() == "_?_:_" && len(args) == 3:
			g.walk(args[0], known)
			g.walk(args[1], union(known, facts(args[0], true)))
			g.walk(args[2], union(known, facts(args[0], false)))
			return
		case c.FunctionName() == "_?._" && len(args) == 2:
			g.walk(args[0], known) // x.?f reads f optionally
			return
		}
	case celast.ComprehensionKind:
		c := e.AsComprehension()
		g.walk(c.IterRange(), known)
		g.walk(c.AccuInit(), known)
		// Selections through the loop variables mean something else inside the loop.
		inner := map[string]bool{}
		for k := range known {
			if !mentions(k, c.IterVar()) && !(c.HasIterVar2() && mentions(k, c.IterVar2())) {
				inner[k] = true
			}
		}
		g.walk(c.LoopCondition(), inner)
		g.walk(c.LoopStep(), inner)
		g.walk(c.Result(), inner)
		return
	}
	for _, x := range children(e) {
		g.walk(x, known)
	}
}

// optionalField is the declared field a selection reads, when it may be absent.
func (g *guards) optionalField(s celast.SelectExpr) *fieldSchema {
	t := g.ast.GetType(s.Operand().ID())
	if t == nil || t.Kind() != types.StructKind {
		return nil
	}
	o := g.objs[t.TypeName()]
	if o == nil {
		return nil
	}
	i, ok := o.byCEL[s.FieldName()]
	if !ok {
		return nil
	}
	f := o.fields[i]
	if f.required || f.def != nil {
		return nil
	}
	return f
}

// text renders a selection as CEL.
func (g *guards) text(e celast.Expr) string {
	if k := selKey(e); k != "" {
		return k
	}
	s, err := parser.Unparse(e, g.ast.SourceInfo())
	if err != nil {
		return ""
	}
	return s
}

// facts are the selections known present when e evaluates to truth.
func facts(e celast.Expr, truth bool) map[string]bool {
	switch e.Kind() {
	case celast.SelectKind:
		if s := e.AsSelect(); s.IsTestOnly() && truth {
			if k := selKey(s.Operand()); k != "" {
				return map[string]bool{k + "." + s.FieldName(): true}
			}
		}
	case celast.CallKind:
		c := e.AsCall()
		args := c.Args()
		switch {
		case c.FunctionName() == "!_" && len(args) == 1:
			return facts(args[0], !truth)
		case c.FunctionName() == "_&&_" && len(args) == 2 && truth,
			c.FunctionName() == "_||_" && len(args) == 2 && !truth:
			return union(facts(args[0], truth), facts(args[1], truth))
		}
	}
	return nil
}

// selKey renders identifiers and chains of field selections (p.a.b); "" for anything
// else.
func selKey(e celast.Expr) string {
	switch e.Kind() {
	case celast.IdentKind:
		return e.AsIdent()
	case celast.SelectKind:
		s := e.AsSelect()
		if s.IsTestOnly() {
			return ""
		}
		if k := selKey(s.Operand()); k != "" {
			return k + "." + s.FieldName()
		}
	}
	return ""
}

func mentions(key, ident string) bool {
	return key == ident || strings.HasPrefix(key, ident+".")
}

func union(a, b map[string]bool) map[string]bool {
	if len(b) == 0 {
		return a
	}
	out := make(map[string]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}
