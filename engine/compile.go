package engine

import (
	"fmt"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/common"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/ext"
	"gopkg.in/yaml.v3"
)

// Compilation: CEL environments typed from the declarations, programs compiled once,
// errors mapped back to file positions.

// DefaultCostLimit bounds every CEL expression, estimated at load time and enforced at
// run time. defaults.cost_limit overrides it.
const DefaultCostLimit = 1_000_000

// maxMessageBytes bounds the size of anything in a message (SQS's limit is 1 MiB);
// it is the size estimate for strings and lists without a max_length.
const maxMessageBytes = MaxMessageBytes

// provider makes the declared objects CEL struct types whose fields are read from
// records; everything else goes to cel-go's own registry.
type provider struct {
	*types.Registry
	objs map[string]*objSchema
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
			out[i] = f.name
		}
		return out, true
	}
	return p.Registry.FindStructFieldNames(name)
}

func (p *provider) FindStructFieldType(name, field string) (*types.FieldType, bool) {
	if o, ok := p.objs[name]; ok {
		i, ok := o.byName[field]
		if !ok {
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
// string extensions, optional values and eventproc's named checks. No I/O, no clock.
func baseEnv(objs map[string]*objSchema) (*cel.Env, error) {
	reg, err := types.NewRegistry()
	if err != nil {
		return nil, err
	}
	opts := []cel.EnvOption{
		cel.CustomTypeProvider(&provider{Registry: reg, objs: objs}),
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
// and of everything else by the message size limit.
type sizeEstimator struct {
	roots map[string]*objSchema // "header", "body"
}

func (e *sizeEstimator) EstimateSize(n checker.AstNode) *checker.SizeEstimate {
	path := n.Path()
	if len(path) >= 2 {
		if o := e.roots[path[0]]; o != nil {
			var f *fieldSchema
			for _, p := range path[1:] {
				switch {
				case p == "@items" && f != nil && f.elem != nil:
					f = f.elem
				case o != nil:
					i, ok := o.byName[p]
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
		return &checker.SizeEstimate{Min: 0, Max: maxMessageBytes / 2}
	}
	return &checker.SizeEstimate{Min: 0, Max: maxMessageBytes}
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
}

// compile parses, checks and plans one expression. want is the required output type
// (nil: any). It returns nil after reporting when the expression is not usable.
func (c *compiler) compile(f *srcFile, n *yaml.Node, text, what string, want *types.Type, wantCode string) (cel.Program, *types.Type) {
	ast, iss := c.env.Parse(text)
	if iss != nil && iss.Err() != nil {
		c.report(f, n, iss, "cel-syntax", what)
		return nil, nil
	}
	ast, iss = c.env.Check(ast)
	if iss != nil && iss.Err() != nil {
		c.report(f, n, iss, "cel-type", what)
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
	return prg, out
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

func (c *compiler) report(f *srcFile, n *yaml.Node, iss *cel.Issues, code, what string) {
	for _, e := range iss.Errors() {
		msg := e.Message
		cd := code
		switch {
		case strings.HasPrefix(msg, "undefined field"):
			cd = "unknown-field"
		case strings.HasPrefix(msg, "undeclared reference"):
			cd = "unknown-reference"
		}
		p := f.exprPos(n, e.Location.Line(), e.Location.Column())
		c.diags.add(p, Error, cd, fmt.Sprintf("%s: %s", what, msg))
	}
}

var _ = common.NoLocation
