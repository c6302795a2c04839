package engine

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/agnivade/levenshtein"
	"gopkg.in/yaml.v3"
)

// srcFile is one events.d file being read: its name, its lines (for block-scalar
// indentation) and the diagnostics collected while reading it.
type srcFile struct {
	name     string
	lines    []string
	diags    *Diagnostics
	unparsed bool // the file was dropped for a YAML problem: what it declares is unknown
}

func (f *srcFile) pos(n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: f.name, Line: 1, Col: 1}
	}
	return Pos{File: f.name, Line: n.Line, Col: n.Column}
}

// lines0 is a nil node: a diagnostic at the start of the file.
func (f *srcFile) lines0() *yaml.Node { return nil }

func (f *srcFile) errorf(n *yaml.Node, code, format string, args ...any) {
	f.diags.add(f.pos(n), Error, code, fmt.Sprintf(format, args...))
}

func (f *srcFile) warnf(n *yaml.Node, code, format string, args ...any) {
	f.diags.add(f.pos(n), Warning, code, fmt.Sprintf(format, args...))
}

func (ds *Diagnostics) add(p Pos, sev Severity, code, msg string) {
	*ds = append(*ds, Diagnostic{Pos: p, Severity: sev, Code: code, Message: msg})
}

// kindName names a node's kind for "must be a …" messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.Tag {
	case "!!null":
		return "null"
	case "!!bool":
		return "a bool"
	case "!!int":
		return "an integer"
	case "!!float":
		return "a number"
	}
	return "a string"
}

// keyval is one entry of a YAML mapping.
type keyval struct {
	key   string
	k, v  *yaml.Node
	valid bool
}

// mapping checks that n is a mapping whose keys are all in known (reporting unknown
// keys with a suggestion, duplicate keys, and missing required keys) and returns its
// entries by key. what names the mapping in messages.
func (f *srcFile) mapping(n *yaml.Node, what string, known, required []string) map[string]keyval {
	out := map[string]keyval{}
	if n == nil {
		return out
	}
	if n.Kind != yaml.MappingNode {
		f.errorf(n, "wrong-type", "%s must be a mapping, not %s", what, kindName(n))
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		if prev, dup := out[key]; dup {
			f.errorf(k, "duplicate-key", "duplicate key %q in %s (first at line %d)", key, what, prev.k.Line)
			continue
		}
		if !contains(known, key) {
			msg := fmt.Sprintf("unknown key %q in %s", key, what)
			if s := suggest(key, known); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			f.errorf(k, "unknown-key", "%s", msg)
			out[key] = keyval{key: key, k: k, v: v}
			continue
		}
		out[key] = keyval{key: key, k: k, v: v, valid: true}
	}
	for _, r := range required {
		if _, ok := out[r]; !ok {
			f.errorf(n, "missing-key", "%s is missing required key %q", what, r)
		}
	}
	return out
}

// entries returns a mapping's entries in order, reporting duplicates; what names it.
func (f *srcFile) entries(n *yaml.Node, what string) []keyval {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		f.errorf(n, "wrong-type", "%s must be a mapping, not %s", what, kindName(n))
		return nil
	}
	seen := map[string]int{}
	var out []keyval
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if line, dup := seen[k.Value]; dup {
			f.errorf(k, "duplicate-key", "duplicate key %q in %s (first at line %d)", k.Value, what, line)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, keyval{key: k.Value, k: k, v: v, valid: true})
	}
	return out
}

func (f *srcFile) str(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		f.errorf(n, "wrong-type", "%s must be a string, not %s", what, kindName(n))
		return "", false
	}
	return n.Value, true
}

// expr accepts any scalar as expression text (so `expr: true` is the CEL literal).
func (f *srcFile) expr(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" || strings.TrimSpace(n.Value) == "" {
		f.errorf(n, "wrong-type", "%s must be a CEL expression (a string), not %s", what, kindName(n))
		return "", false
	}
	if n.Style&yaml.FoldedStyle != 0 {
		f.warnf(n, "folded-block", "%s is a folded ('>') block: positions inside it are lost; use a literal ('|') block", what)
	}
	return n.Value, true
}

func (f *srcFile) boolean(n *yaml.Node, what string) (bool, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		f.errorf(n, "wrong-type", "%s must be true or false, not %s", what, kindName(n))
		return false, false
	}
	b, err := strconv.ParseBool(n.Value)
	if err != nil {
		var v bool
		if n.Decode(&v) == nil {
			return v, true
		}
		f.errorf(n, "wrong-type", "%s must be true or false", what)
		return false, false
	}
	return b, true
}

func (f *srcFile) integer(n *yaml.Node, what string) (int64, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		f.errorf(n, "wrong-type", "%s must be an integer, not %s", what, kindName(n))
		return 0, false
	}
	var v int64
	if err := n.Decode(&v); err != nil {
		f.errorf(n, "wrong-type", "%s must be an integer that fits in 64 bits", what)
		return 0, false
	}
	return v, true
}

func (f *srcFile) number(n *yaml.Node, what string) (float64, bool) {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
		f.errorf(n, "wrong-type", "%s must be a number, not %s", what, kindName(n))
		return 0, false
	}
	var v float64
	if err := n.Decode(&v); err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		f.errorf(n, "wrong-type", "%s must be a finite number", what)
		return 0, false
	}
	return v, true
}

func (f *srcFile) duration(n *yaml.Node, what string) (time.Duration, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		f.errorf(n, "wrong-type", "%s must be a duration such as 30s or 5m, not %s", what, kindName(n))
		return 0, false
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		f.errorf(n, "wrong-type", "%s must be a duration such as 30s or 5m: %q is not", what, n.Value)
		return 0, false
	}
	return d, true
}

// exprPos maps a position inside an expression's text (line 1-based, col 0-based, as
// cel-go reports them) to a file position, following how the scalar was written.
func (f *srcFile) exprPos(n *yaml.Node, line, col int) Pos {
	p := f.pos(n)
	if line < 1 {
		line = 1
	}
	switch {
	case n.Style&yaml.LiteralStyle != 0:
		// The text starts on the line after the '|' at the block's indentation.
		first := n.Line // 1-based line of the indicator; content starts at first+1
		indent := 0
		for i := first; i < len(f.lines); i++ { // f.lines is 0-based: line first+1 is index first
			if strings.TrimSpace(f.lines[i]) != "" {
				indent = len(f.lines[i]) - len(strings.TrimLeft(f.lines[i], " "))
				break
			}
		}
		return Pos{File: f.name, Line: first + line, Col: indent + col + 1}
	case n.Style&yaml.FoldedStyle != 0:
		return p
	case n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		if line == 1 {
			p.Col += 1 + col
		}
		return p
	default:
		if line == 1 {
			p.Col += col
		}
		return p
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns the known word nearest to s, or "" when none is close.
func suggest(s string, known []string) string {
	best, bestD := "", 1<<30
	for _, k := range known {
		if d := levenshtein.ComputeDistance(s, k); d < bestD {
			best, bestD = k, d
		}
	}
	limit := len(s) / 3
	if limit < 2 {
		limit = 2
	}
	if bestD <= limit {
		return best
	}
	return ""
}
