package engine

import (
	"context"
	"errors"
	"fmt"
	"github.com/google/cel-go/cel"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func msg(version, body string) string {
	return fmt.Sprintf(`{"event_id":"e-1","event_type":"order.placed","tenant_id":"t","client_id":"c","schema_version":%q,"occurred_at":"2026-02-04T14:00:15Z","body":%s}`, version, body)
}

// TestDecodeEdgeCases: every hostile input gets a clear verdict, never a crash.
func TestDecodeEdgeCases(t *testing.T) {
	rs := shipped(t)
	deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	var many strings.Builder
	many.WriteString(`{"order_id":"o","user_id":"u","total":1,"items_count":1,"status":"s"`)
	for i := 0; i < 100000; i++ {
		fmt.Fprintf(&many, `,"%s":0`, strconv.FormatInt(int64(i), 36))
	}
	many.WriteString("}")
	huge := strings.Repeat("x", 256<<10)
	cases := []struct {
		name, body string
		outcome    Outcome
		reason     string // substring of Reason()
	}{
		{"valid", msg("v1", `{"order_id":"o","user_id":"u","total":1,"items_count":1,"status":"s"}`), Valid, ""},
		{"invalid utf-8", "{\"event_id\":\"\xff\"}", Invalid, "invalid UTF-8"},
		{"empty", "", Invalid, "empty message"},
		{"whitespace", "  \n", Invalid, "empty message"},
		{"array", `[1,2]`, Invalid, "not a JSON object"},
		{"string", `"x"`, Invalid, "not a JSON object"},
		{"deep nesting in body", msg("v1", `{"x":`+deep+`}`), Invalid, "nested deeper"},
		{"deep nesting in header", `{"x":` + deep + `}`, Invalid, "nested deeper"},
		{"100000 keys", msg("v1", many.String()), Valid, ""},
		{"duplicate unknown keys beyond 32", msg("v1", many.String()[:len(many.String())-1]+`,"5":1}`), Invalid, "duplicate key"},
		{"over 1 MiB", msg("v1", `{"x":"`+strings.Repeat("x", 1<<20)+`"}`), Invalid, "larger than 1 MiB"},
		{"256 KiB string", msg("v1", `{"order_id":"`+huge+`","user_id":"u","total":1,"items_count":1,"status":"s"}`), Valid, ""},
		{"number beyond float64", msg("v1", `{"order_id":"o","user_id":"u","total":1e999,"items_count":1,"status":"s"}`), Invalid, "out of range"},
		{"integer beyond int64", msg("v1", `{"order_id":"o","user_id":"u","total":1,"items_count":99999999999999999999,"status":"s"}`), Invalid, "out of range"},
		{"integral float for an integer", msg("v1", `{"order_id":"o","user_id":"u","total":1,"items_count":2e0,"status":"s"}`), Valid, ""},
		{"bad number", msg("v1", `{"order_id":"o","user_id":"u","total":01,"items_count":1,"status":"s"}`), Invalid, "expected ','"},
		{"leading plus", msg("v1", `{"order_id":"o","user_id":"u","total":+1,"items_count":1,"status":"s"}`), Invalid, "unexpected character"},
		{"escapes", msg("v1", `{"order_id":"o\u00e9\ud83d\ude00\n","user_id":"u","total":1,"items_count":1,"status":"s"}`), Valid, ""},
		{"lone surrogate", msg("v1", `{"order_id":"\ud800","user_id":"u","total":1,"items_count":1,"status":"s"}`), Invalid, "unpaired UTF-16 surrogate"},
		{"bad escape", msg("v1", `{"order_id":"\x","user_id":"u","total":1,"items_count":1,"status":"s"}`), Invalid, "invalid escape"},
		{"control character", msg("v1", "{\"order_id\":\"a\tb\"}"), Invalid, "control character"},
		{"unterminated", `{"event_id":"x`, Invalid, "unterminated"},
		{"trailing comma", msg("v1", `{"order_id":"o",}`), Invalid, "expected a string key"},
		{"trailing data", msg("v1", `{}`) + "x", Invalid, "data after"},
		{"true literal typo", msg("v1", `{"x":tru}`), Invalid, "invalid literal"},
		{"NaN", msg("v1", `{"total":NaN}`), Invalid, "unexpected character"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := rs.Evaluate(context.Background(), c.body)
			if v.Outcome != c.outcome {
				t.Fatalf("outcome %s, want %s (%s)", v.Outcome, c.outcome, v.Reason())
			}
			if !strings.Contains(v.Reason(), c.reason) {
				t.Errorf("reason %q does not mention %q", v.Reason(), c.reason)
			}
		})
	}
}

func TestDecodeErrorOffsetAndKinds(t *testing.T) {
	rs := shipped(t)
	v := rs.Evaluate(context.Background(), `{"event_id": tru}`)
	var de *DecodeError
	if !errors.As(v.Err, &de) || de.Offset != 13 {
		t.Fatalf("err %v, want a DecodeError at byte 13", v.Err)
	}
	v = rs.Evaluate(context.Background(), msg("v7", `{}`))
	var ue *UnknownTypeError
	if !errors.As(v.Err, &ue) || ue.Version != "v7" || v.Outcome != Invalid {
		t.Fatalf("got %s %v, want an unknown version", v.Outcome, v.Err)
	}
}

// ruleset builds a ruleset from inline files over the diagnostics tests' base.
func ruleset(t *testing.T, files map[string]string) *Ruleset {
	t.Helper()
	fsys := fstest.MapFS{}
	for n, d := range baseFiles {
		fsys[n] = &fstest.MapFile{Data: []byte(d)}
	}
	for n, d := range files {
		fsys[n] = &fstest.MapFile{Data: []byte(d)}
	}
	rs, ds := Load(fsys)
	if ds.HasErrors() {
		t.Fatalf("load: %v", ds)
	}
	return rs
}

func TestRuleFailedNamesRuleAndPosition(t *testing.T) {
	rs := ruleset(t, map[string]string{"t.yaml": `type: t
versions:
  v1:
    fields:
      n: {type: integer}
      d: {type: integer, required: true}
    rules:
      - id: unguarded
        expr: body.n > 0
      - id: divide
        expr: 10 / body.d > 1
`})
	ctx := context.Background()
	body := func(b string) string {
		return `{"event_id":"e","event_type":"t","schema_version":"v1","tenant_id":"x","body":` + b + `}`
	}
	v := rs.Evaluate(ctx, body(`{"d":1}`))
	var re *RuleError
	if v.Outcome != RuleFailed || !errors.As(v.Err, &re) || re.Rule != "unguarded" || re.Pos.String() != "t.yaml:9:15" {
		t.Fatalf("got %s %v, want rule unguarded at t.yaml:9:15 failing", v.Outcome, v.Err)
	}
	if !strings.Contains(v.Err.Error(), "has(body.n)") {
		t.Errorf("error %q does not suggest has()", v.Err)
	}
	v = rs.Evaluate(ctx, body(`{"n":1,"d":0}`))
	if v.Outcome != RuleFailed || !errors.As(v.Err, &re) || re.Rule != "divide" || !strings.Contains(v.Err.Error(), "division by zero") {
		t.Fatalf("got %s %v, want rule divide failing on division by zero", v.Outcome, v.Err)
	}
	v = rs.Evaluate(ctx, body(`{"n":1,"d":20}`))
	if v.Outcome != Invalid || len(v.Violations) != 1 || v.Violations[0].Rule != "divide" {
		t.Fatalf("got %s %v", v.Outcome, v.Violations)
	}
}

// TestDeclaredBoundsHoldBeforeRules: cost estimates rely on max_length, so a list
// longer than declared is rejected before any rule walks it.
func TestDeclaredBoundsHoldBeforeRules(t *testing.T) {
	rs := ruleset(t, map[string]string{"t.yaml": `type: t
versions:
  v1:
    fields:
      xs: {type: list, required: true, max_length: 100, items: {type: integer}}
    rules:
      - id: loop
        expr: body.xs.all(a, body.xs.all(b, a + b >= 0))
`})
	long := make([]string, 20000)
	for i := range long {
		long[i] = "1"
	}
	start := time.Now()
	v := rs.Evaluate(context.Background(), `{"event_id":"e","event_type":"t","schema_version":"v1","tenant_id":"x","body":{"xs":[`+strings.Join(long, ",")+`]}}`)
	if v.Outcome != Invalid || len(v.Violations) != 1 || v.Violations[0].Rule != "body.xs.max_length" {
		t.Fatalf("got %s %v %v", v.Outcome, v.Err, v.Violations)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
}

// TestShorthandsMatchTheirCEL: each native check agrees with the CEL expression
// that defines it, on random values.
func TestShorthandsMatchTheirCEL(t *testing.T) {
	rs := ruleset(t, map[string]string{"t.yaml": `type: t
versions:
  v1:
    fields:
      s: {type: string, min_length: 2, max_length: 5, pattern: '^[a-c]+$', enum: [ab, abc, ba, x]}
      e: {type: string, format: email}
      u: {type: string, format: uuid}
      i: {type: integer, min: -3, max: 7, gt: -5, lt: 6, enum: [0, 1, 5]}
      f: {type: number, min: -1.5, max: 2.5, gt: -2, lt: 2.25}
      h: {type: integer, gt: 0.5}
      l: {type: list, min_length: 1, max_length: 3, items: {type: string}}
`})
	body := rs.types["t"].versions["v1"].body
	r := rand.New(rand.NewPCG(1, 2))
	strs := []string{"", "a", "ab", "abc", "abcabc", "ba", "x", "é", "ana@mail.test", "not an email", "6f1c2a7e-0b7e-4c8e-9a43-2f1d7b1e9c11", "6f1c2a7e0b7e4c8e9a432f1d7b1e9c11"}
	n := 0
	for _, f := range body.fields {
		env, err := rs.checkEnv(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range f.checks {
			ast, iss := env.Compile(c.cel)
			if iss != nil && iss.Err() != nil {
				t.Fatalf("%s: %v", c.cel, iss.Err())
			}
			prg, err := env.Program(ast)
			if err != nil {
				t.Fatal(err)
			}
			for k := 0; k < 200; k++ {
				var v value
				switch f.typ {
				case typeString:
					v = value{k: kString, s: strs[r.IntN(len(strs))]}
				case typeInteger:
					v = value{k: kInt, i: int64(r.IntN(20) - 10)}
				case typeNumber:
					v = value{k: kNumber, n: float64(r.IntN(80)-40) / 8}
				case typeList:
					v = value{k: kList}
					for j := r.IntN(5); j > 0; j-- {
						v.l = append(v.l, value{k: kString, s: "x"})
					}
				}
				out, _, err := prg.Eval(map[string]any{"self": v.celValue()})
				if err != nil {
					t.Fatalf("%s: %v", c.cel, err)
				}
				if bool(out.(interface{ Value() any }).Value().(bool)) != c.test(&v) {
					t.Errorf("%s (%s) disagrees with its native check on %v", c.rule, c.cel, v.native())
				}
				n++
			}
		}
	}
	if n < 2000 {
		t.Errorf("only %d comparisons", n)
	}
}

func TestRetryDelays(t *testing.T) {
	p := DefaultRetry
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute, 5 * time.Minute}
	for i, w := range want {
		if got := p.Delay(i+1, 0); got != w {
			t.Errorf("attempt %d: %s, want %s", i+1, got, w)
		}
	}
	if got := p.Delay(1000, 0); got != 5*time.Minute {
		t.Errorf("attempt 1000: %s, want the cap", got)
	}
	for u := 0.0; u < 1; u += 0.1 {
		d := p.Delay(2, u)
		if d > time.Minute || d < 48*time.Second {
			t.Errorf("jittered delay %s outside [48s, 60s]", d)
		}
	}
	if !p.Exhausted(5) || p.Exhausted(4) {
		t.Error("Exhausted is wrong")
	}
	rs := shipped(t)
	if rs.Retry("order.placed", "v2").MaxAttempts != 8 || rs.Retry("user.created", "v1").MaxAttempts != 5 || rs.MaxAttempts() != 8 {
		t.Error("per-type retry overrides are not applied")
	}
}

func TestGenerate(t *testing.T) {
	rs := shipped(t)
	r := rand.New(rand.NewPCG(7, 9))
	ids := map[string]bool{}
	for _, ti := range rs.Types() {
		for _, v := range ti.Versions {
			for i := 0; i < 50; i++ {
				body, err := rs.Generate(ti.Name, v, r, true)
				if err != nil {
					t.Fatalf("%s %s: %v", ti.Name, v, err)
				}
				vd := rs.Evaluate(context.Background(), body)
				if vd.Outcome != Valid {
					t.Fatalf("%s %s generated invalid: %s: %s", ti.Name, v, vd.Reason(), body)
				}
				if ids[vd.EventID] {
					t.Fatalf("event id %s generated twice", vd.EventID)
				}
				ids[vd.EventID] = true
				bad, err := rs.Generate(ti.Name, v, r, false)
				if err != nil {
					t.Fatal(err)
				}
				if rs.Evaluate(context.Background(), bad).Outcome != Invalid {
					t.Fatalf("%s %s generated a valid 'invalid' event: %s", ti.Name, v, bad)
				}
			}
		}
	}
	if _, err := rs.Generate("nope", "v1", r, true); err == nil {
		t.Error("an unknown type generated")
	}
}

func TestDecodeDocument(t *testing.T) {
	doc, err := DecodeDocument(`{"a":{"b":[1,2.50,"x",true,null]},"n":12345678901234567890}`)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(doc)
	if got != "map[a:map[b:[1 2.50 x true <nil>]] n:12345678901234567890]" {
		t.Errorf("got %s", got)
	}
	for _, bad := range []string{`[]`, `{"a":1,"a":2}`, "{\"a\":\"\xff\"}", `{"a":1} x`, strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100)} {
		if _, err := DecodeDocument(bad); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}

func TestRejectionIsDeterministic(t *testing.T) {
	rs := shipped(t)
	a, b := rs.Rejection("not json"), rs.Rejection("not json")
	if a.Table != "events" || len(a.Key) != 1 || a.Key[0].Name != "pk" || a.Key[0].Value != b.Key[0].Value ||
		!strings.HasPrefix(a.Key[0].Value.(string), "rejected#") {
		t.Fatalf("rejection %+v", a)
	}
	if rs.Rejection("other").Key[0].Value == a.Key[0].Value {
		t.Error("different bodies share a rejection key")
	}
}

// TestDefaults: an absent optional field with a default is seen by rules and keys as
// the default.
func TestDefaults(t *testing.T) {
	rs := ruleset(t, map[string]string{"t.yaml": `type: t
persist:
  key:
    pk: header.event_id + "#" + body.region
versions:
  v1:
    fields:
      region: {type: string, default: eu, enum: [eu, us]}
      n: {type: integer, default: 3}
    rules:
      - id: n-small
        expr: body.n < 5
`})
	ev := func(b string) *Verdict {
		return rs.Evaluate(context.Background(), `{"event_id":"e","event_type":"t","schema_version":"v1","tenant_id":"x","body":`+b+`}`)
	}
	if v := ev(`{}`); v.Outcome != Valid || v.Persist.Key[0].Value != "e#eu" {
		t.Fatalf("%s %s %+v", v.Outcome, v.Reason(), v.Persist)
	}
	if v := ev(`{"region":"us","n":null}`); v.Outcome != Valid || v.Persist.Key[0].Value != "e#us" {
		t.Fatalf("%s %s", v.Outcome, v.Reason())
	}
	if v := ev(`{"n":9}`); v.Outcome != Invalid || v.Violations[0].Rule != "n-small" {
		t.Fatalf("%s %v", v.Outcome, v.Violations)
	}
	_, ds := Load(fstest.MapFS{
		"envelope.yaml": {Data: []byte(baseFiles["envelope.yaml"])},
		"defaults.yaml": {Data: []byte(baseFiles["defaults.yaml"])},
		"t.yaml": {Data: []byte(`type: t
versions:
  v1:
    fields:
      a: {type: string, required: true, default: x}
      b: {type: integer, default: x}
      c: {type: string, enum: [p], default: q}
`)}})
	got := fmt.Sprint(ds)
	for _, want := range []string{"default makes no sense on a required field", "default must be an integer", "default violates its own field's enum"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in %s", want, got)
		}
	}
}

// TestGenerateIsReproducible: a seed always generates the same events.
func TestGenerateIsReproducible(t *testing.T) {
	rs := shipped(t)
	gen := func() []string {
		r := rand.New(rand.NewPCG(11, 12))
		var out []string
		for _, ti := range rs.Types() {
			for _, v := range ti.Versions {
				for _, valid := range []bool{true, false} {
					b, err := rs.Generate(ti.Name, v, r, valid)
					if err != nil {
						t.Fatal(err)
					}
					out = append(out, b)
				}
			}
		}
		return out
	}
	a, b := gen(), gen()
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Error("the same seed generated different events")
	}
}

// TestReviewFindings pins behaviours found in review: dyn() access to records,
// integer bounds beyond 2^53, an empty type field, out-of-range integers.
func TestReviewFindings(t *testing.T) {
	rs := ruleset(t, map[string]string{"t.yaml": `type: t
versions:
  v1:
    fields:
      items: {type: list, items: {type: string}}
      big: {type: integer, max: 9007199254740992}
    rules:
      - id: dynamic
        expr: '!has(dyn(body).items) || dyn(body).items.size() >= 0'
`})
	ev := func(b string) *Verdict {
		return rs.Evaluate(context.Background(), `{"event_id":"e","event_type":"t","schema_version":"v1","tenant_id":"x","body":`+b+`}`)
	}
	if v := ev(`{"items":["a"]}`); v.Outcome != Valid {
		t.Errorf("dyn(body): %s %s", v.Outcome, v.Reason())
	}
	if v := ev(`{"big":9007199254740993}`); v.Outcome != Invalid || v.Violations[0].Rule != "body.big.max" {
		t.Errorf("2^53+1 against max 2^53: %s %v", v.Outcome, v.Violations)
	}
	if v := ev(`{"big":1e19}`); v.Outcome != Invalid || !strings.Contains(v.Reason(), "out of range") {
		t.Errorf("1e19: %s", v.Reason())
	}
	v := rs.Evaluate(context.Background(), `{"event_id":"e","event_type":"","schema_version":"v1","tenant_id":"x","body":{}}`)
	if v.Outcome != Invalid || v.Reason() == "" {
		t.Errorf("an empty type: %s %q", v.Outcome, v.Reason())
	}
}

// TestWhatStopsTheRules pins the README: a required, type or max_length violation
// means no rule runs (the envelope's or the version's, errors or warnings), while
// every field's constraints are still reported; other constraints let the rules run.
func TestWhatStopsTheRules(t *testing.T) {
	rs := ruleset(t, map[string]string{"t.yaml": `type: t
versions:
  v1:
    fields:
      s: {type: string, max_length: 3}
      m: {type: string, min_length: 2, pattern: '^[a-z]+$'}
      l: {type: list, items: {type: string, max_length: 1}}
      n: {type: integer, max: 5}
    rules:
      - id: never
        expr: "false"
      - id: note
        expr: "false"
        severity: warning
`})
	ev := func(b string) *Verdict {
		return rs.Evaluate(context.Background(), `{"event_id":"e","event_type":"t","schema_version":"v1","tenant_id":"x","body":`+b+`}`)
	}
	rules := func(v *Verdict) string {
		var ids []string
		for _, x := range append(append([]Violation(nil), v.Violations...), v.Warnings...) {
			ids = append(ids, x.Rule)
		}
		return strings.Join(ids, " ")
	}
	for b, want := range map[string]string{
		`{}`:                         "never note",
		`{"m":"A","n":6}`:            "body.m.min_length body.m.pattern body.n.max never note",
		`{"s":"abcd","m":"A","n":6}`: "body.s.max_length body.m.min_length body.m.pattern body.n.max",
		`{"l":["ab"],"n":6}`:         "body.l[].max_length body.n.max",
		`{"n":1.5,"m":"A"}`:          "body.n.type body.m.min_length body.m.pattern",
	} {
		if got := rules(ev(b)); got != want {
			t.Errorf("%s: %s, want %s", b, got, want)
		}
	}
}

// TestIntegerOverflowInARule: integers are int64 in rules too; arithmetic that
// overflows is a rule that fails to evaluate, not a wrapped value.
func TestIntegerOverflowInARule(t *testing.T) {
	rs := ruleset(t, map[string]string{"t.yaml": `type: t
versions:
  v1:
    fields:
      n: {type: integer, required: true}
    rules:
      - id: next
        expr: body.n + 1 > body.n
`})
	v := rs.Evaluate(context.Background(), `{"event_id":"e","event_type":"t","schema_version":"v1","tenant_id":"x","body":{"n":9223372036854775807}}`)
	var re *RuleError
	if v.Outcome != RuleFailed || !errors.As(v.Err, &re) || re.Rule != "next" || !strings.Contains(v.Err.Error(), "overflow") {
		t.Fatalf("got %s %v, want rule next failing on overflow", v.Outcome, v.Err)
	}
}

// checkEnv is the environment of a field's short-hand checks: `self` of its type.
func (rs *Ruleset) checkEnv(f *fieldSchema) (*cel.Env, error) {
	base, err := baseEnv(rs.objs)
	if err != nil {
		return nil, err
	}
	return base.Extend(cel.Variable("self", f.celType))
}
