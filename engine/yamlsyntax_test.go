package engine

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
	"gopkg.in/yaml.v3"
)

func TestLocateSyntax(t *testing.T) {
	for _, tt := range []struct {
		name, src string
		line, col int
		msg       string // a part of the message
	}{
		{"flow mapping without its }", `a:
  b: {type: string, required: true
  c: {type: string}
`, 2, 6, "flow mapping is not closed: its closing }"},
		{"flow list without its ] at the end", "a:\n  b: [x, y\n", 2, 6, "flow list is not closed: its closing ]"},
		{"bracket closing the wrong flow", "a: {b: [x, y}\n", 1, 13, "} closes the [ at 1:8"},
		{"key dedented by one space", `a:
  b:
    c: 1
   d: 2
`, 4, 4, "indented 3 spaces, which lines up with no block above it (the one it follows is at 4, the one around that at 2)"},
		{"key indented by one space more", `a:
  b: 1
   c: 2
`, 3, 4, "indented more (3 spaces) than the one above it (2)"},
		{"dedented sequence entry", `rules:
  - id: a
    expr: x
 - id: b
`, 4, 2, "indented 1 spaces"},
		{"unclosed single quote, the next line a key", `a:
  expr: 'body.x != "y"
  message: no
`, 2, 9, "quoted string is not closed: its closing '"},
		{"unclosed quote the scanner follows to the next quote", `a:
  expr: 'body.x != "y"
  message: no
  b:
    pattern: '^[A-Z]$'
`, 2, 9, "closing '"},
		{"unclosed double quote at the end", "a:\n  b: \"x\n", 2, 6, `closing "`},
		{"tab indenting a line", "a:\n\tb: 1\n", 2, 1, "a tab indents this line"},
		{"tab after spaces", "a:\n  b:\n  \tc: 1\n", 3, 3, "a tab indents this line"},
		{"a quoted string followed by more text", "a:\n  b: 1\n  expr: 'a' == 'b' || true\n  c: 2\n", 3, 9, `quote the whole expression: "'a' == 'b' || true"`},
		{"a quoted string followed by more text in a list", "rules:\n  - expr: \"cancelled\" == body.status\n", 2, 11, `: '"cancelled" == body.status'`},
		{"a quoted string followed by more text in a flow", "a: {b: 'x' y}\n", 1, 8, "quote the whole expression"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var n yaml.Node
			if yaml.Unmarshal([]byte(tt.src), &n) == nil {
				t.Fatalf("yaml.v3 parses the case: it shows no syntax error")
			}
			p, ok := locateSyntax(tt.src)
			if !ok {
				t.Fatalf("nothing found")
			}
			if p.line != tt.line || p.col != tt.col || !strings.Contains(p.msg, tt.msg) {
				t.Errorf("got %d:%d: %s\nwant %d:%d: …%s…", p.line, p.col, p.msg, tt.line, tt.col, tt.msg)
			}
		})
	}
}

// TestLocateSyntaxValid: on YAML that parses, the scanner finds nothing — in the
// cases below, the shipped events.d, and every archive's files under testdata.
func TestLocateSyntaxValid(t *testing.T) {
	srcs := map[string]string{
		"quotes inside a plain scalar":   "a:\n  expr: body.x == 'y' && body.z == \"w\"\n  message: don't {stop} [now]\n",
		"a flow mapping over lines":      "a: {b: 1,\n  c: [x,\n    y]}\nd: 2\n",
		"a quoted string over lines":     "a:\n  b: 'one\n    two'\n  c: 1\n",
		"escaped quotes":                 "a: 'it''s'\nb: \"say \\\"hi\\\"\"\n",
		"a literal block":                "a:\n  - expr: |\n      x == 'y\n\n      && {\n    message: m\n",
		"a sequence at its key's indent": "rules:\n- id: a\n  expr: x\n- id: b\nnext: 1\n",
		"comments":                       "a: 1 # it's {\n# '\n  # [\nb: 2\n",
		"an anchored block":              "a: &x\n  b: 1\nc: *x\n",
		"a plain scalar over lines":      "a: one\n  two\nb: 1\n",
		"quoted keys and values":         "'a': 'x' # c\n\"b\": {'c': 'd', e: ['f', \"g\"]}\nh: 'one\n  two' # c\n",
	}
	for _, dir := range []string{"../events.d"} {
		paths, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			srcs[p] = string(b)
		}
	}
	filepath.WalkDir("testdata", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !strings.HasSuffix(p, ".txtar") {
			return err
		}
		ar, err := txtar.ParseFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range ar.Files {
			if strings.HasSuffix(f.Name, ".yaml") || strings.HasSuffix(f.Name, ".yml") {
				srcs[p+"/"+f.Name] = string(f.Data)
			}
		}
		return nil
	})
	if len(srcs) < 50 {
		t.Fatalf("only %d sources", len(srcs))
	}
	for name, src := range srcs {
		var n yaml.Node
		if yaml.Unmarshal([]byte(src), &n) != nil {
			continue // a syntax-error case
		}
		if p, ok := locateSyntax(src); ok {
			t.Errorf("%s: %d:%d: %s, but it parses", name, p.line, p.col, p.msg)
		}
	}
}
