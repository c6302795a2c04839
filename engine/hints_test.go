package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/fstest"
)

// TestOptionalReads lists, for each expression, the optional fields it reads unguarded.
func TestOptionalReads(t *testing.T) {
	decl := `type: t
versions:
  v1:
    fields:
      req: {type: string, required: true}
      opt: {type: string}
      def: {type: string, default: x}
      n:   {type: integer}
      obj:
        type: object
        fields:
          inner: {type: string, required: true}
          maybe: {type: string}
      items:
        type: list
        required: true
        max_length: 10
        items:
          type: object
          fields:
            tag: {type: string}
    variables:
      v: 'has(body.opt) ? body.opt : ""'
    rules:
      - id: r
        expr: %s
`
	for _, c := range []struct {
		expr string
		want []string // the fields reported, in order
	}{
		{`body.req != ""`, nil},
		{`body.def != ""`, nil},
		{`body.opt != ""`, []string{"body.opt"}},
		{`has(body.opt) && body.opt != ""`, nil},
		{`body.opt != "" && has(body.opt)`, nil},
		{`!has(body.opt) || body.opt != ""`, nil},
		{`body.opt != "" || !has(body.opt)`, nil},
		{`has(body.opt) || body.opt != ""`, []string{"body.opt"}},
		{`has(body.opt) ? body.opt != "" : true`, nil},
		{`has(body.opt) ? true : body.opt != ""`, []string{"body.opt"}},
		{`!(!has(body.opt)) && body.opt != ""`, nil},
		{`(has(body.opt) && has(body.n)) && body.opt != "" && body.n > 0`, nil},
		{`has(body.n) && body.opt != ""`, []string{"body.opt"}},
		{`body.?opt.orValue("") != ""`, nil},
		{`v != ""`, nil},
		{`body.obj.inner != ""`, []string{"body.obj"}},
		{`has(body.obj) && body.obj.inner != ""`, nil},
		{`has(body.obj.maybe)`, []string{"body.obj"}},
		{`has(body.obj) && has(body.obj.maybe) && body.obj.maybe != ""`, nil},
		{`body.items.all(i, i.tag != "")`, []string{"body.items[].tag"}},
		{`body.items.all(i, has(i.tag) && i.tag != "")`, nil},
		{`body.items.all(i, !has(i.tag) || i.tag != "")`, nil},
		// A guard in an earlier comprehension is not followed (a has() in the loop is
		// the way to write it).
		{`body.items.filter(i, has(i.tag)).all(i, i.tag != "")`, []string{"body.items[].tag"}},
		// A loop variable named like a guarded selection's root is another value.
		{`has(body.opt) && [body].all(body, body.opt != "")`, []string{"body.opt"}},
	} {
		fsys := fstest.MapFS{"t.yaml": {Data: []byte(strings.Replace(decl, "%s", "'"+c.expr+"'", 1))}}
		for n, d := range baseFiles {
			fsys[n] = &fstest.MapFile{Data: []byte(d)}
		}
		_, ds := Load(fsys)
		var got []string
		for _, d := range ds {
			if d.Code != "optional-read" {
				if d.Severity == Error {
					t.Errorf("%s: %s", c.expr, d)
				}
				continue
			}
			f := strings.TrimPrefix(d.Message, "rule r reads the optional field ")
			got = append(got, f[:strings.IndexByte(f, ' ')])
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s: reported %v, want %v", c.expr, got, c.want)
		}
	}
}

// TestOptionalReadInheritedOnce checks that a rule inherited through extends is reported
// once, not once per version.
func TestOptionalReadInheritedOnce(t *testing.T) {
	fsys := fstest.MapFS{"t.yaml": {Data: []byte(`type: t
versions:
  v1:
    fields: {opt: {type: string}}
    rules:
      - {id: r, expr: 'body.opt != ""'}
  v2: {extends: v1}
  v3: {extends: v2}
`)}}
	for n, d := range baseFiles {
		fsys[n] = &fstest.MapFile{Data: []byte(d)}
	}
	_, all := Load(fsys)
	var ds Diagnostics
	for _, d := range all {
		if d.Code != "type-untested" { // t has no suite here
			ds = append(ds, d)
		}
	}
	if len(ds) != 1 || ds[0].Code != "optional-read" || ds[0].String() != `t.yaml:6:28: warning: rule r reads the optional field body.opt without has(): on a message without it, it fails at run time (rule_failed); guard it with has(body.opt) [optional-read]` {
		t.Errorf("got %v, want one optional-read warning", ds)
	}
}

// TestOptionalItemFieldAdvice checks that the run-time error of an unguarded read of a
// list item's field suggests has() through the item, which is valid CEL.
func TestOptionalItemFieldAdvice(t *testing.T) {
	rs := ruleset(t, map[string]string{"t.yaml": `type: t
versions:
  v1:
    fields:
      items:
        type: list
        required: true
        max_length: 10
        items: {type: object, fields: {tag: {type: string}}}
    rules:
      - id: tagged
        expr: body.items.all(i, i.tag != "")
`})
	v := rs.Evaluate(context.Background(), `{"event_id":"e","event_type":"t","schema_version":"v1","tenant_id":"x","body":{"items":[{}]}}`)
	var re *RuleError
	if v.Outcome != RuleFailed || !errors.As(v.Err, &re) {
		t.Fatalf("got %s %v, want rule tagged failing", v.Outcome, v.Err)
	}
	if msg := v.Err.Error(); !strings.Contains(msg, "has(p.tag) where p is the item") || strings.Contains(msg, "[]") {
		t.Errorf("error %q does not suggest has() through the item", msg)
	}
}
