package engine

import (
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Compatibility between versions. A type declares a mode; each version is compared
// with the one it follows (its extends parent, else the version declared before it):
//
//	backward: every event valid under the previous version is valid under this one
//	          (consumers on the new version read what old producers send);
//	forward:  every event valid under this version is valid under the previous one
//	          (consumers still on the old version read what new producers send);
//	full:     both; none: no check.
//
// Field changes are decided exactly; a rule that is new or changed cannot be proven
// either way and is reported as a warning.

type compatChange struct {
	node     *yaml.Node
	file     *srcFile
	backward bool // breaks backward compatibility
	forward  bool // breaks forward compatibility
	unproven bool // may break it: a rule, which cannot be compared
	msg      string
}

// compatOf is the compatibility mode of a type (declared in one of its files).
func (l *loader) compatOf(name string) string {
	for _, ts := range l.types {
		if ts.name == name && ts.compat != compatNone {
			return ts.compat
		}
	}
	return compatNone
}

// checkCompat compares each version of a type (versions: every version, over its
// files, in declaration order) with the one it follows.
func (l *loader) checkCompat(typeName, mode string, versions []*versionSpec) {
	if mode == compatNone {
		return
	}
	wantBack := mode == compatBackward || mode == compatFull
	wantFwd := mode == compatForward || mode == compatFull
	for i, v := range versions {
		var prev *versionSpec
		if v.extends != "" {
			for _, p := range versions {
				if p.name == v.extends && p != v {
					prev = p
				}
			}
		} else if i > 0 {
			prev = versions[i-1]
		}
		if prev == nil {
			continue
		}
		var changes []compatChange
		compareFields(prev.fields, v.fields, "body", v, &changes)
		compareRules(prev, v, &changes)
		compareVars(prev, v, &changes)
		for _, c := range changes {
			var broken []string
			if c.backward && wantBack {
				broken = append(broken, "backward")
			}
			if c.forward && wantFwd {
				broken = append(broken, "forward")
			}
			if len(broken) == 0 {
				continue
			}
			what := strings.Join(broken, " and ")
			if c.unproven {
				c.file.warnf(c.node, "compat-unproven", "%s %s: %s, so %s compatibility with %s cannot be proven", typeName, v.name, c.msg, what, prev.name)
				continue
			}
			c.file.errorf(c.node, "compat-breaking", "%s %s breaks %s compatibility with %s: %s", typeName, v.name, what, prev.name, c.msg)
		}
	}
}

func compareFields(old, cur []*fieldSpec, path string, v *versionSpec, out *[]compatChange) {
	byName := map[string]*fieldSpec{}
	for _, f := range cur {
		byName[f.name] = f
	}
	for _, o := range old {
		n, ok := byName[o.name]
		p := path + "." + o.name
		if !ok {
			*out = append(*out, compatChange{node: v.key, file: v.file, forward: true,
				msg: fmt.Sprintf("field %s is removed (producers may now send it with any value)", p)})
			continue
		}
		compareField(o, n, p, v, out)
	}
	oldNames := map[string]bool{}
	for _, o := range old {
		oldNames[o.name] = true
	}
	for _, n := range cur {
		switch {
		case oldNames[n.name]:
		case n.required && n.def == nil:
			*out = append(*out, compatChange{node: n.node, file: n.file, backward: true,
				msg: fmt.Sprintf("new field %s is required (events without it were valid)", path+"."+n.name)})
		default:
			*out = append(*out, compatChange{node: n.node, file: n.file, backward: true, unproven: true,
				msg: fmt.Sprintf("new field %s checks a key the previous version ignored (events that carried it with another value were valid)", path+"."+n.name)})
		}
	}
}

func compareField(o, n *fieldSpec, p string, v *versionSpec, out *[]compatChange) {
	d := fieldDiff{n: n, p: p, out: out}
	if !typeKnown(o.typ) || !typeKnown(n.typ) {
		return // a missing or unknown type is reported where it is written
	}
	if o.typ != n.typ {
		d.add("type", true, true, "type changes from %s to %s", o.typ, n.typ)
		return
	}
	switch {
	case !o.required && n.required:
		d.add("required", true, false, "becomes required")
	case o.required && !n.required:
		d.add("required", false, true, "is no longer required")
	}
	d.lower("min", o.min, n.min)
	d.lower("gt", o.gt, n.gt)
	d.lower("min_length", f64(o.minLen), f64(n.minLen))
	d.upper("max", o.max, n.max)
	d.upper("lt", o.lt, n.lt)
	d.upper("max_length", f64(o.maxLen), f64(n.maxLen))
	d.exact("pattern", o.pattern, n.pattern)
	d.exact("format", o.format, n.format)
	d.enum(o.enum, n.enum)
	if o.typ == typeObject {
		compareFields(o.fields, n.fields, p, v, out)
	}
	if o.typ == typeList && o.items != nil && n.items != nil {
		compareField(o.items, n.items, p+"[]", v, out)
	}
}

// fieldDiff collects the changes between two declarations of the field at path p; n
// is the newer one, whose keys the changes point at.
type fieldDiff struct {
	n   *fieldSpec
	p   string
	out *[]compatChange
}

// add records a change of key that breaks backward and/or forward compatibility.
func (d fieldDiff) add(key string, back, fwd bool, format string, args ...any) {
	*d.out = append(*d.out, compatChange{node: d.n.where(key), file: d.n.file, backward: back, forward: fwd,
		msg: d.p + ": " + fmt.Sprintf(format, args...)})
}

// lower compares a lower bound: raising it tightens.
func (d fieldDiff) lower(key string, a, b *float64) {
	switch {
	case a == nil && b != nil:
		d.add(key, true, false, "gains %s %s", key, fmtNum(*b))
	case a != nil && b == nil:
		d.add(key, false, true, "loses %s %s", key, fmtNum(*a))
	case a != nil && *b > *a:
		d.add(key, true, false, "%s rises from %s to %s", key, fmtNum(*a), fmtNum(*b))
	case a != nil && *b < *a:
		d.add(key, false, true, "%s falls from %s to %s", key, fmtNum(*a), fmtNum(*b))
	}
}

// upper compares an upper bound: lowering it tightens.
func (d fieldDiff) upper(key string, a, b *float64) {
	switch {
	case a == nil && b != nil:
		d.add(key, true, false, "gains %s %s", key, fmtNum(*b))
	case a != nil && b == nil:
		d.add(key, false, true, "loses %s %s", key, fmtNum(*a))
	case a != nil && *b < *a:
		d.add(key, true, false, "%s falls from %s to %s", key, fmtNum(*a), fmtNum(*b))
	case a != nil && *b > *a:
		d.add(key, false, true, "%s rises from %s to %s", key, fmtNum(*a), fmtNum(*b))
	}
}

// exact compares a constraint that either side may lack and any change of which
// breaks both ways.
func (d fieldDiff) exact(key, a, b string) {
	switch {
	case a == b:
	case a == "":
		d.add(key, true, false, "gains %s %q", key, b)
	case b == "":
		d.add(key, false, true, "loses %s %q", key, a)
	default:
		d.add(key, true, true, "%s changes from %q to %q", key, a, b)
	}
}

// enum compares enums: removing a value tightens, adding one loosens.
func (d fieldDiff) enum(a, b []any) {
	if len(a) == 0 && len(b) == 0 {
		return
	}
	removed, added := setDiff(a, b), setDiff(b, a)
	switch {
	case len(a) == 0:
		d.add("enum", true, false, "gains an enum %v", b)
	case len(b) == 0:
		d.add("enum", false, true, "loses its enum %v", a)
	default:
		if len(removed) > 0 {
			d.add("enum", true, false, "enum narrows: %s no longer allowed", strings.Join(removed, ", "))
		}
		if len(added) > 0 {
			d.add("enum", false, true, "enum widens: %s newly allowed", strings.Join(added, ", "))
		}
	}
}

// f64 widens an optional length to compare it as a bound.
func f64(x *int64) *float64 {
	if x == nil {
		return nil
	}
	f := float64(*x)
	return &f
}

func setDiff(a, b []any) []string {
	in := map[string]bool{}
	for _, x := range b {
		in[fmt.Sprint(x)] = true
	}
	var out []string
	for _, x := range a {
		if s := fmt.Sprint(x); !in[s] {
			out = append(out, fmt.Sprintf("%q", s))
		}
	}
	sort.Strings(out)
	return out
}

// compareRules reports error-severity rules that are new (they may reject what the
// previous version accepted: backward), removed (they may let through what it
// rejected: forward) or changed (either). Rules cannot be compared, so these are
// warnings.
func compareRules(prev, v *versionSpec, out *[]compatChange) {
	old := map[string]*ruleSpec{}
	for _, r := range prev.rules {
		if r.severity == Error {
			old[r.id] = r
		}
	}
	cur := map[string]bool{}
	for _, r := range v.rules {
		if r.severity != Error {
			continue
		}
		cur[r.id] = true
		o, ok := old[r.id]
		switch {
		case !ok:
			*out = append(*out, compatChange{node: r.idNode, file: r.file, backward: true, unproven: true, msg: "rule " + r.id + " is new"})
		case o.expr != r.expr:
			*out = append(*out, compatChange{node: r.exprNode, file: r.file, backward: true, forward: true, unproven: true, msg: "rule " + r.id + " changes"})
		}
	}
	for _, r := range prev.rules {
		if r.severity == Error && !cur[r.id] {
			*out = append(*out, compatChange{node: v.key, file: v.file, forward: true, unproven: true, msg: "rule " + r.id + " is removed"})
		}
	}
}

// compareVars reports variables whose expression changed: every rule that uses one
// may change its verdicts.
func compareVars(prev, v *versionSpec, out *[]compatChange) {
	old := map[string]string{}
	for _, x := range prev.variables {
		old[x.name] = x.expr
	}
	for _, x := range v.variables {
		if e, ok := old[x.name]; ok && e != x.expr {
			*out = append(*out, compatChange{node: x.node, file: x.file, backward: true, forward: true, unproven: true,
				msg: "variable " + x.name + " changes (and with it every rule that uses it)"})
		}
	}
}
