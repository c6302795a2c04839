package engine

import (
	"fmt"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/ext"
	"gopkg.in/yaml.v3"

	"eventproc/limits"
)

// Compilation: CEL environments typed from the declarations, programs compiled once,
// errors mapped back to file positions.

// DefaultCostLimit bounds every CEL expression, estimated at load time and enforced at
// run time. defaults.cost_limit overrides it.
const DefaultCostLimit = 1_000_000

// provider makes the declared objects CEL struct types whose fields are read from
// records; everything else goes to cel-go's own registry.
type provider struct {
	*types.Registry
	objs map[string]*objSchema

	mu        sync.Mutex
	recording bool
	misses    []fieldMiss

	attrs attrReads // the SQS message attributes the compiled expressions read
}

func (p *provider) FindStructType(name string) (*types.Type, bool) {
	if o, ok := p.objs[name]; ok {
		return types.NewTypeTypeWithParam(o.celType), true
	}
	return p.Registry.FindStructType(name)
}

func (p *provider) FindStructFieldNames(name string) ([]string, bool) {
	if o, ok := p.objs[name]; ok {
		out := make([]string, len(o.fields))
		for i, f := range o.fields {
			out[i] = f.cel
		}
		return out, true
	}
	return p.Registry.FindStructFieldNames(name)
}

func (p *provider) FindStructFieldType(name, field string) (*types.FieldType, bool) {
	if o, ok := p.objs[name]; ok {
		i, ok := o.byCEL[field]
		if !ok {
			p.miss(o, field)
			return nil, false
		}
		return o.fields[i].ft, true
	}
	return p.Registry.FindStructFieldType(name, field)
}

func (p *provider) NewValue(name string, fields map[string]ref.Val) ref.Val {
	if _, ok := p.objs[name]; ok {
		return types.NewErr("%s cannot be constructed in an expression", name)
	}
	return p.Registry.NewValue(name, fields)
}

// baseEnv is the environment every expression starts from: the standard library, the
// string extensions, optional values, eventproc's named checks and the variable
// message. No I/O, no clock. objs must hold message's type (messageSchema).
func baseEnv(objs map[string]*objSchema) (*cel.Env, error) {
	reg, err := types.NewRegistry()
	if err != nil {
		return nil, err
	}
	opts := []cel.EnvOption{
		cel.CustomTypeProvider(&provider{Registry: reg, objs: objs}),
		messageVar(),
		ext.Strings(),
		ext.Math(),
		ext.Lists(),
		ext.Sets(),
		cel.OptionalTypes(),
		cel.CrossTypeNumericComparisons(true),
		cel.ParserExpressionSizeLimit(10_000),
		cel.ParserRecursionLimit(100),
	}
	opts = append(opts, libraryOptions()...)
	return cel.NewEnv(opts...)
}

// sizeEstimator bounds the sizes of declared strings and lists by their max_length,
// message's attribute maps by limits.MessageAttributes, and everything else by the
// message size limit (SQS's 1 MiB, limits.MessageBytes; half of it for a list).
type sizeEstimator struct {
	roots map[string]*objSchema // "header", "body"
}

func (e *sizeEstimator) EstimateSize(n checker.AstNode) *checker.SizeEstimate {
	path := n.Path()
	if len(path) == 2 && path[0] == "message" && (path[1] == "attributes" || path[1] == "sns_attributes") {
		return &checker.SizeEstimate{Min: 0, Max: limits.MessageAttributes}
	}
	if len(path) >= 2 {
		if o := e.roots[path[0]]; o != nil {
			var f *fieldSchema
			for _, p := range path[1:] {
				switch {
				case p == "@items" && f != nil && f.elem != nil:
					f = f.elem
				case o != nil:
					i, ok := o.byCEL[p]
					if !ok {
						f = nil
						break
					}
					f = o.fields[i]
				default:
					f = nil
				}
				if f == nil {
					break
				}
				o = f.obj
			}
			if f != nil && f.spec.maxLen != nil {
				return &checker.SizeEstimate{Min: 0, Max: uint64(*f.spec.maxLen)}
			}
		}
	}
	if t := n.Type(); t != nil && t.Kind() == types.ListKind {
		return &checker.SizeEstimate{Min: 0, Max: limits.MessageBytes / 2}
	}
	return &checker.SizeEstimate{Min: 0, Max: limits.MessageBytes}
}

func (e *sizeEstimator) EstimateCallCost(function, overloadID string, target *checker.AstNode, args []checker.AstNode) *checker.CallEstimate {
	return nil
}

// compiler compiles expressions in one environment, reporting into diags.
type compiler struct {
	env       *cel.Env
	est       *sizeEstimator
	costLimit uint64
	diags     *Diagnostics
	checked   map[*yaml.Node]*cel.Ast // the expressions compiled, by their node
}

// compile parses, checks and plans one expression. want is the required output type
// (nil: any). It returns nil after reporting when the expression is not usable.
func (c *compiler) compile(f *srcFile, n *yaml.Node, text, what string, want *types.Type, wantCode string) (cel.Program, *types.Type) {
	return c.compileKnowing(f, n, text, what, want, wantCode, nil, failureOf(what))
}

// failureOf says what happens at run time when the expression what names cannot be
// evaluated (for the optional-read warning). A key, a rule or a variable (read by a
// rule, a key or an attribute) fails the message; an attribute fails a valid message
// only: on a rejected one it is left out.
func failureOf(what string) string {
	if strings.HasPrefix(what, "persist.attributes.") {
		return "a valid message fails at run time (rule_failed), and a rejected one is stored without the attribute"
	}
	return "it fails at run time (rule_failed)"
}

// compileMessage compiles a rule's message_expr, which is evaluated only when the rule
// (compiled from ruleNode) is false: what that implies present is guarded. A
// message_expr that cannot be evaluated does not fail the message: the violation
// gets a stock message. When the rule did not compile, what it guards is unknown and
// the message_expr's reads are not warned about.
func (c *compiler) compileMessage(f *srcFile, n *yaml.Node, text, what string, ruleNode *yaml.Node) cel.Program {
	var known map[string]bool
	failure := ""
	if r := c.checked[ruleNode]; r != nil {
		known = facts(r.NativeRep().Expr(), false)
		id := strings.TrimSuffix(strings.TrimPrefix(what, "rule "), " message_expr")
		failure = fmt.Sprintf("it fails, and the violation's message is only \"violates %s (its message_expr failed: …)\"", id)
	}
	prg, _ := c.compileKnowing(f, n, text, what, types.StringType, "message-not-string", known, failure)
	return prg
}

// compileKnowing is compile, with selections known present where the expression
// runs; failure says what an unguarded read of an optional field does at run time
// ("": do not warn about them).
func (c *compiler) compileKnowing(f *srcFile, n *yaml.Node, text, what string, want *types.Type, wantCode string, known map[string]bool, failure string) (cel.Program, *types.Type) {
	parsed, iss := c.env.Parse(text)
	if iss != nil && iss.Err() != nil {
		c.report(f, n, iss, "cel-syntax", what, nil, nil, nil)
		return nil, nil
	}
	prov, _ := c.env.CELTypeProvider().(*provider)
	if prov != nil {
		prov.startMisses()
	}
	ast, iss := c.env.Check(parsed)
	var misses []fieldMiss
	if prov != nil {
		misses = prov.takeMisses()
	}
	if iss != nil && iss.Err() != nil {
		c.report(f, n, iss, "cel-type", what, parsed, misses, prov)
		return nil, nil
	}
	out := ast.OutputType()
	if want != nil && !out.IsExactType(want) && !(want == types.StringType && out.IsExactType(types.DynType)) {
		f.errorf(n, wantCode, "%s must be %s, but the expression gives %s", what, typeWord(want), typeWord(out))
		return nil, nil
	}
	est, err := c.env.EstimateCost(ast, c.est)
	if err != nil {
		f.errorf(n, "cel-type", "%s: cost estimation: %v", what, err)
		return nil, nil
	}
	if est.Max > c.costLimit {
		f.errorf(n, "cost-limit", "%s: estimated cost %d exceeds the limit %d (bound the strings and lists it walks with max_length, or raise defaults.cost_limit)", what, est.Max, c.costLimit)
		return nil, nil
	}
	// The estimate is an upper bound under limits the engine enforces (message size,
	// max_length). Without a comprehension an expression's work is linear in the
	// (bounded) message, so the estimate holds; expressions with comprehensions, whose
	// work multiplies, also carry a run-time cost tracker as a second line of defence.
	opts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
	if hasComprehension(ast) {
		opts = append(opts, cel.CostLimit(c.costLimit))
	}
	prg, err := c.env.Program(ast, opts...)
	if err != nil {
		f.errorf(n, "cel-type", "%s: %v", what, err)
		return nil, nil
	}
	if c.checked == nil {
		c.checked = map[*yaml.Node]*cel.Ast{}
	}
	c.checked[n] = ast
	if prov != nil {
		prov.attrs.note(ast)
	}
	if prov != nil && failure != "" {
		c.warnOptionalReads(f, n, ast, prov.objs, known, what, failure)
	}
	return prg, out
}

// warnOptionalReads reports the reads of optional fields that no has() guards: on a
// message without the field they make the expression fail at run time, with the
// consequence failure says.
func (c *compiler) warnOptionalReads(f *srcFile, n *yaml.Node, ast *cel.Ast, objs map[string]*objSchema, known map[string]bool, what, failure string) {
	for _, r := range unguardedReads(ast, objs, known) {
		loc := ast.NativeRep().SourceInfo().GetStartLocation(r.id)
		guard := ""
		if r.sel != "" {
			guard = fmt.Sprintf("; guard it with has(%s)", r.sel)
		}
		d := Diagnostic{Pos: f.exprPos(n, loc.Line(), loc.Column()), Severity: Warning, Code: "optional-read",
			Message: fmt.Sprintf("%s reads the optional field %s without has(): on a message without it, %s%s", what, r.field.path, failure, guard)}
		if !c.diags.has(d) { // an inherited rule is compiled again in every version that extends
			c.diags.add(d.Pos, Warning, "optional-read", d.Message)
		}
	}
}

func (ds *Diagnostics) has(d Diagnostic) bool {
	for _, x := range *ds {
		if x == d {
			return true
		}
	}
	return false
}

// hasComprehension reports whether a checked expression loops (all, exists, map,
// filter, …).
func hasComprehension(a *cel.Ast) bool {
	nav := celast.NavigateAST(a.NativeRep())
	return len(celast.MatchDescendants(nav, celast.KindMatcher(celast.ComprehensionKind))) > 0
}

func typeWord(t *types.Type) string {
	switch {
	case t.IsExactType(types.BoolType):
		return "a bool"
	case t.IsExactType(types.StringType):
		return "a string"
	}
	return "of type " + t.String()
}

// report maps CEL's issues to file positions, naming the declared field or variable
// nearest to a misspelt one (parsed and misses: what the check saw, for the hints).
func (c *compiler) report(f *srcFile, n *yaml.Node, iss *cel.Issues, code, what string, parsed *cel.Ast, misses []fieldMiss, prov *provider) {
	used := map[int]bool{}
	for _, e := range iss.Errors() {
		msg := e.Message
		cd := code
		var name string
		switch {
		case strings.HasPrefix(msg, "undefined field"):
			cd = "unknown-field"
			name = strings.TrimSuffix(strings.TrimPrefix(msg, "undefined field '"), "'")
			msg += undefinedFieldHint(name, misses, used)
		case strings.HasPrefix(msg, "undeclared reference"):
			cd = "unknown-reference"
			msg = containerNoise.ReplaceAllString(msg, "")
			name = strings.TrimSuffix(strings.TrimPrefix(msg, "undeclared reference to '"), "'")
			if prov != nil {
				msg += undeclaredHint(c.env, prov.objs, parsed, e.ExprID, name)
			}
		}
		p := f.exprPos(n, e.Location.Line(), e.Location.Column())
		c.diags.add(p, Error, cd, fmt.Sprintf("%s: %s", what, msg))
	}
}
