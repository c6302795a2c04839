package engine

import (
	"sort"
	"strings"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
)

// Reads: the declared fields a compiled expression reads, as paths in the schema's
// notation ("header.tenant_id", "body.address.city", "body.items[].sku"). Reading an
// object or list reads everything under it; reading a variable reads what the variable
// reads. The generator keeps the fields that persistence keys and attributes read out
// of the suites' examples and makes their values unique.

// readsIf returns the paths text reads, sorted, given what each variable in scope
// reads; nil when it did not compile (prg is nil). It checks text again in the
// compiler's environment: the compiled program keeps no AST.
func (c *compiler) readsIf(prg cel.Program, text string, vars map[string][]string) []string {
	if prg == nil {
		return nil
	}
	a, iss := c.env.Compile(text)
	if iss != nil && iss.Err() != nil {
		return nil
	}
	return fieldReads(a, vars)
}

// fieldReads lists the paths a checked expression reads.
func fieldReads(a *cel.Ast, vars map[string][]string) []string {
	w := &readWalker{vars: vars, out: map[string]bool{}, bound: map[string]int{}}
	w.expr(a.NativeRep().Expr())
	out := make([]string, 0, len(w.out))
	for p := range w.out {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

type readWalker struct {
	vars  map[string][]string
	out   map[string]bool
	bound map[string]int // comprehension variables in scope
}

// path returns the field path e denotes (header or body, then selections and
// indexes), walking the index arguments it passes; ok is false for anything else.
func (w *readWalker) path(e celast.Expr) (string, bool) {
	switch e.Kind() {
	case celast.IdentKind:
		if n := e.AsIdent(); (n == "header" || n == "body") && w.bound[n] == 0 {
			return n, true
		}
	case celast.SelectKind:
		s := e.AsSelect()
		if p, ok := w.path(s.Operand()); ok {
			return p + "." + s.FieldName(), true
		}
	case celast.CallKind:
		c := e.AsCall()
		args := c.Args()
		switch c.FunctionName() {
		case "_?._": // body.?field
			if len(args) == 2 && args[1].Kind() == celast.LiteralKind {
				if p, ok := w.path(args[0]); ok {
					if f, isStr := args[1].AsLiteral().(types.String); isStr {
						return p + "." + string(f), true
					}
				}
			}
		case "_[_]", "_[?_]": // body.items[i]
			if len(args) == 2 {
				if p, ok := w.path(args[0]); ok {
					w.expr(args[1])
					return p + "[]", true
				}
			}
		}
	}
	return "", false
}

func (w *readWalker) expr(e celast.Expr) {
	if p, ok := w.path(e); ok {
		w.out[p] = true
		return
	}
	switch e.Kind() {
	case celast.IdentKind:
		if n := e.AsIdent(); w.bound[n] == 0 {
			for _, p := range w.vars[n] {
				w.out[p] = true
			}
		}
	case celast.SelectKind:
		w.expr(e.AsSelect().Operand())
	case celast.CallKind:
		c := e.AsCall()
		if c.IsMemberFunction() {
			w.expr(c.Target())
		}
		for _, a := range c.Args() {
			w.expr(a)
		}
	case celast.ListKind:
		for _, x := range e.AsList().Elements() {
			w.expr(x)
		}
	case celast.MapKind:
		for _, en := range e.AsMap().Entries() {
			m := en.AsMapEntry()
			w.expr(m.Key())
			w.expr(m.Value())
		}
	case celast.StructKind:
		for _, f := range e.AsStruct().Fields() {
			w.expr(f.AsStructField().Value())
		}
	case celast.ComprehensionKind:
		cx := e.AsComprehension()
		w.expr(cx.IterRange())
		w.expr(cx.AccuInit())
		names := []string{cx.IterVar(), cx.AccuVar()}
		if cx.HasIterVar2() {
			names = append(names, cx.IterVar2())
		}
		for _, n := range names {
			w.bound[n]++
		}
		w.expr(cx.LoopCondition())
		w.expr(cx.LoopStep())
		w.expr(cx.Result())
		for _, n := range names {
			w.bound[n]--
		}
	}
}

// readsUnder reports whether path p is read by one of reads, or lies under one (a
// read of an object or list reads all of it).
func readsUnder(reads []string, p string) bool {
	for _, r := range reads {
		if p == r || strings.HasPrefix(p, r+".") || strings.HasPrefix(p, r+"[]") {
			return true
		}
	}
	return false
}

// readsWithin reports whether a read lies under path p (p must then be present for
// the read to see a value).
func readsWithin(reads []string, p string) bool {
	for _, r := range reads {
		if strings.HasPrefix(r, p+".") || strings.HasPrefix(r, p+"[]") {
			return true
		}
	}
	return false
}

// readsViolated reports whether one of reads touches a field a violation concerns:
// reads it, a part of it, or an object or list it lies in.
func readsViolated(reads []string, vs []Violation) bool {
	for _, x := range vs {
		if x.Field == "" {
			continue
		}
		p := declaredPath(x.Field)
		if readsUnder(reads, p) || readsWithin(reads, p) {
			return true
		}
	}
	return false
}

// declaredPath turns a violation's concrete path ("body.items[2].sku") into the
// declared one reads are written in ("body.items[].sku").
func declaredPath(p string) string {
	if !strings.Contains(p, "[") {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		b.WriteByte(p[i])
		if p[i] == '[' {
			for i+1 < len(p) && p[i+1] != ']' {
				i++
			}
		}
	}
	return b.String()
}
