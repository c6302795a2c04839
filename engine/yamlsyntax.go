package engine

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Locating YAML syntax errors. gopkg.in/yaml.v3 reports a syntax error with a line
// only, and often the line of an enclosing block rather than the offending one (a
// flow mapping without its '}', a key dedented by one space, an unclosed quote that
// the scanner follows to the next quote many lines on). When a file does not parse,
// locateSyntax reads its text for those mistakes and says where each one is.

// syntaxProblem is one mistake found in the text: a 1-based line and column.
type syntaxProblem struct {
	line, col int
	msg       string
}

// keyLineRE matches a line that starts a block mapping entry (after any "- "): a
// quoted or plain key, then ':' and a space or the end of the line.
var keyLineRE = regexp.MustCompile(`^(?:-[ \t]+)*(?:"[^"]*"|'[^']*'|[^\s'"#{}\[\],&*!|>%@` + "`" + `-][^#]*?)[ \t]*:(?:[ \t]|$)`)

// flowOpen is an open '{' or '[' of a flow collection.
type flowOpen struct {
	ch        byte
	line, col int // of the bracket
	indent    int // of its line
}

// yamlScanner follows the structure of a YAML text line by line: the indentation
// of the open block mappings, the open flow brackets, a quoted scalar running over
// lines, a block scalar's content.
type yamlScanner struct {
	indent []int // indentation of the open blocks, innermost last
	opens  bool  // the previous content line ends with "key:" (a block follows)

	flow []flowOpen

	quote                byte // the open quote ('\'' or '"'), or 0
	qLine, qCol, qIndent int
	qAt                  int  // byte offset of the open quote in its line
	blockScalar          bool // inside a '|' or '>' block
	blockParent          int  // indentation its content must exceed
}

// locateSyntax finds the first mistake in src that yaml.v3 mislocates, if any.
func locateSyntax(src string) (syntaxProblem, bool) {
	s := &yamlScanner{}
	for i, text := range strings.Split(src, "\n") {
		if p, ok := s.scanLine(i+1, strings.TrimSuffix(text, "\r")); ok {
			return p, true
		}
	}
	switch {
	case s.quote != 0:
		return s.unclosedQuote(), true
	case len(s.flow) > 0:
		return unclosedFlow(s.flow[len(s.flow)-1]), true
	}
	return syntaxProblem{}, false
}

func (s *yamlScanner) unclosedQuote() syntaxProblem {
	return syntaxProblem{s.qLine, s.qCol, fmt.Sprintf("this quoted string is not closed: its closing %c is missing", s.quote)}
}

func unclosedFlow(o flowOpen) syntaxProblem {
	what, closer := "mapping", '}'
	if o.ch == '[' {
		what, closer = "list", ']'
	}
	return syntaxProblem{o.line, o.col, fmt.Sprintf("this flow %s is not closed: its closing %c is missing", what, closer)}
}

// scanLine reads one line (n is its 1-based number).
func (s *yamlScanner) scanLine(n int, text string) (syntaxProblem, bool) {
	body := strings.TrimLeft(text, " \t")
	indent := len(text) - len(body)
	blank := body == "" || (body[0] == '#' && s.quote == 0 && len(s.flow) == 0)
	if s.blockScalar {
		if body == "" || indent > s.blockParent {
			return syntaxProblem{}, false
		}
		s.blockScalar = false
	}
	if blank {
		return syntaxProblem{}, false
	}
	switch {
	case s.quote != 0:
		// A quoted string runs on over lines; one that reaches a line reading as a
		// key no deeper than the line it opened on was left open.
		if indent <= s.qIndent && keyLineRE.MatchString(body) {
			return s.unclosedQuote(), true
		}
		return s.scanText(n, text, 0, indent)
	case len(s.flow) > 0:
		if o := s.flow[len(s.flow)-1]; indent <= o.indent && keyLineRE.MatchString(body) {
			return unclosedFlow(o), true
		}
		return s.scanText(n, text, 0, indent)
	}
	if i := strings.IndexByte(text[:indent], '\t'); i >= 0 {
		return syntaxProblem{n, col(text, i), "a tab indents this line: YAML indents with spaces only"}, true
	}
	if body == "---" || strings.HasPrefix(body, "--- ") || body == "..." || body[0] == '%' {
		s.indent, s.opens = nil, false
		return syntaxProblem{}, false
	}
	if p, ok := s.checkIndent(n, text, indent, body); ok {
		return p, true
	}
	return s.scanText(n, text, indent, indent)
}

// checkIndent checks a block line's indentation against the open blocks and records
// the blocks it opens.
func (s *yamlScanner) checkIndent(n int, text string, indent int, body string) (syntaxProblem, bool) {
	top := -1
	if len(s.indent) > 0 {
		top = s.indent[len(s.indent)-1]
	}
	isKey := keyLineRE.MatchString(body)
	switch {
	case indent > top && top >= 0 && !s.opens:
		if isKey {
			return syntaxProblem{n, indent + 1, fmt.Sprintf("this line is indented more (%d spaces) than the one above it (%d), which has its value already", indent, top)}, true
		}
		return syntaxProblem{}, false // a plain scalar running on: yaml.v3 judges it
	case indent > top:
		s.indent = append(s.indent, indent)
	case indent < top:
		inner := top
		for len(s.indent) > 0 && s.indent[len(s.indent)-1] > indent {
			s.indent = s.indent[:len(s.indent)-1]
		}
		outer := -1
		if len(s.indent) > 0 {
			outer = s.indent[len(s.indent)-1]
		}
		if outer != indent {
			s.indent = append(s.indent, indent)
			msg := fmt.Sprintf("this line is indented %d spaces, which lines up with no block above it (the one it follows is at %d", indent, inner)
			if outer >= 0 {
				msg += fmt.Sprintf(", the one around that at %d", outer)
			}
			return syntaxProblem{n, indent + 1, msg + ")"}, true
		}
	}
	// "- " entries open a block at their content's column.
	rest, c := body, indent
	for strings.HasPrefix(rest, "- ") || rest == "-" {
		t := strings.TrimLeft(rest[1:], " ")
		c += len(rest) - len(t)
		rest = t
		if rest != "" {
			s.indent = append(s.indent, c)
		}
	}
	s.opens = rest == "" || (isKey && endsBlockKey(rest))
	return syntaxProblem{}, false
}

// endsBlockKey reports whether a "key: …" line leaves its value to the lines below
// (nothing after the colon but a comment, an anchor or a tag).
func endsBlockKey(body string) bool {
	m := keyLineRE.FindString(body)
	after := strings.TrimSpace(stripComment(body[len(m):]))
	return after == "" || after[0] == '&' || after[0] == '!'
}

func stripComment(s string) string {
	if i := strings.Index(s, " #"); i >= 0 {
		return s[:i]
	}
	if strings.HasPrefix(s, "#") {
		return ""
	}
	return s
}

// scanText reads a line's characters from byte from: quotes, flow brackets,
// comments and the start of a block scalar. A quote or bracket counts only where a
// node starts (in `a == 'b'`, a plain scalar, it is just a character). indent is the
// line's indentation.
func (s *yamlScanner) scanText(n int, text string, from, indent int) (syntaxProblem, bool) {
	expect := true // a node may start here
	for i := from; i < len(text); i++ {
		ch := text[i]
		if s.quote != 0 {
			switch {
			case s.quote == '"' && ch == '\\':
				i++
			case s.quote == '\'' && ch == '\'' && i+1 < len(text) && text[i+1] == '\'':
				i++ // '' is an escaped quote
			case ch == s.quote:
				s.quote, expect = 0, false
				if p, ok := s.textAfterQuote(n, text, i); ok {
					return p, true
				}
			}
			continue
		}
		inFlow := len(s.flow) > 0
		switch {
		case ch == ' ' || ch == '\t':
		case ch == '#' && (i == 0 || text[i-1] == ' ' || text[i-1] == '\t'):
			return syntaxProblem{}, false
		case ch == ':' && (i+1 == len(text) || text[i+1] == ' ' || text[i+1] == '\t' || (inFlow && strings.IndexByte(",[]{}", text[i+1]) >= 0)):
			expect = true
		case expect && (ch == '-' || ch == '?') && (i+1 == len(text) || text[i+1] == ' '):
		case expect && (ch == '&' || ch == '!'): // an anchor or a tag before the node
			for i+1 < len(text) && text[i+1] != ' ' {
				i++
			}
		case expect && (ch == '\'' || ch == '"'):
			s.quote, s.qLine, s.qCol, s.qIndent, s.qAt = ch, n, col(text, i), indent, i
		case (ch == '{' || ch == '[') && (expect || inFlow):
			s.flow = append(s.flow, flowOpen{ch: ch, line: n, col: col(text, i), indent: indent})
			expect = true
		case (ch == '}' || ch == ']') && inFlow:
			o := s.flow[len(s.flow)-1]
			want := byte('}')
			if o.ch == '[' {
				want = ']'
			}
			if ch != want {
				return syntaxProblem{n, col(text, i), fmt.Sprintf("%c closes the %c at %d:%d, which needs %c", ch, o.ch, o.line, o.col, want)}, true
			}
			s.flow, expect = s.flow[:len(s.flow)-1], false
		case ch == ',' && inFlow:
			expect = true
		case expect && (ch == '|' || ch == '>') && !inFlow:
			s.blockScalar, s.blockParent = true, blockParent(text, indent)
			return syntaxProblem{}, false
		default:
			expect = false // a plain scalar
		}
	}
	return syntaxProblem{}, false
}

// textAfterQuote reports text after the closing quote at byte i of a quoted node
// (`expr: 'a' == 'b'`, `expr: "x" == body.y`): YAML allows only a comment, the ':'
// of a key or, in a flow, a ',' or a closing bracket there. A CEL expression that
// starts with a string literal is the usual cause; it must be quoted whole.
func (s *yamlScanner) textAfterQuote(n int, text string, i int) (syntaxProblem, bool) {
	rest := text[i+1:]
	after := strings.TrimLeft(rest, " \t")
	switch {
	case after == "" || after[0] == ':':
		return syntaxProblem{}, false
	case after[0] == '#' && len(after) < len(rest):
		return syntaxProblem{}, false
	case len(s.flow) > 0 && strings.IndexByte(",]}", after[0]) >= 0:
		return syntaxProblem{}, false
	}
	msg := "this quoted string is followed by more text, which YAML does not allow: quote the whole expression"
	if s.qLine == n && len(s.flow) == 0 {
		msg += ": " + quoteWhole(strings.TrimRight(stripComment(text[s.qAt:]), " \t"))
	}
	return syntaxProblem{s.qLine, s.qCol, msg}, true
}

// quoteWhole writes v as a YAML quoted scalar: in double quotes when it needs no
// escape there, else in single quotes (a ' doubled).
func quoteWhole(v string) string {
	if !strings.ContainsAny(v, `"\`) {
		return `"` + v + `"`
	}
	return "'" + strings.ReplaceAll(v, "'", "''") + "'"
}

// blockParent is the indentation a block scalar's content must exceed: its line's,
// or, on a "- key: |" line, its key's.
func blockParent(text string, indent int) int {
	ks := strings.TrimLeft(text[indent:], "- ")
	return len(text) - len(ks)
}

// col converts byte offset i of a line into a 1-based column in characters.
func col(text string, i int) int { return utf8.RuneCountInString(text[:i]) + 1 }
