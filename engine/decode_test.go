package engine

import (
	"context"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// TestUnpairedSurrogates: a \u escape of a lone UTF-16 surrogate makes the message
// undecodable, as invalid UTF-8 does, wherever it is (header value, body value,
// undeclared field, key); it does not become U+FFFD, which would give two different
// event ids one key. A proper pair is one character.
func TestUnpairedSurrogates(t *testing.T) {
	rs := shipped(t)
	ctx := context.Background()
	header := func(id string) string {
		return strings.Replace(msg("v1", `{"order_id":"o","user_id":"u","total":1,"items_count":1,"status":"s"}`), `"e-1"`, `"`+id+`"`, 1)
	}
	body := func(order string) string {
		return msg("v1", `{"order_id":"`+order+`","user_id":"u","total":1,"items_count":1,"status":"s"}`)
	}
	for _, c := range []struct {
		name, body string
		offset     int // of the escape's backslash (msg adds one byte after the body)
	}{
		{"header high", header(`\ud800`), 13},
		{"header low", header(`\udfff`), 13},
		{"header high then text", header(`a\uD800b`), 14},
		{"header two highs", header(`\ud83d\ud83d`), 13},
		{"header low then high", header(`\ude00\ud83d`), 13},
		{"header high at the end of the string", header(`x\ud83d`), 14},
		{"body value", body(`\udc00`), len(msg("v1", `{"order_id":"`)) - 1},
		{"undeclared field", msg("v1", `{"x":"\ud800"}`), len(msg("v1", `{"x":"`)) - 1},
		{"key", msg("v1", `{"\udfff":1}`), len(msg("v1", `{"`)) - 1},
		{"undeclared header key", `{"\ud800":1}`, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := rs.Evaluate(ctx, c.body)
			var de *DecodeError
			if v.Outcome != Invalid || !errors.As(v.Err, &de) || !strings.Contains(de.Reason, "unpaired UTF-16 surrogate") {
				t.Fatalf("got %s %v, want an undecodable message (unpaired surrogate)", v.Outcome, v.Err)
			}
			if de.Offset != c.offset {
				t.Errorf("offset %d, want %d (%s)", de.Offset, c.offset, de)
			}
			if _, err := DecodeDocument(c.body); err == nil || !strings.Contains(err.Error(), "unpaired UTF-16 surrogate") {
				t.Errorf("DecodeDocument: %v, want an unpaired surrogate", err)
			}
		})
	}
	for _, pair := range []string{`\ud83d\ude00`, `\uD83D\uDE00`, `\udbff\udfff`, `a\ud800\udc00b`} {
		v := rs.Evaluate(ctx, header(pair))
		if v.Outcome != Valid {
			t.Errorf("%s: %s %s, want valid", pair, v.Outcome, v.Reason())
		}
	}
	v := rs.Evaluate(ctx, header(`\ud83d\ude00`))
	if v.EventID != "\U0001F600" {
		t.Errorf("event id %q, want U+1F600", v.EventID)
	}
}

// TestIntegerLiterals: an integer field takes a literal whose exact decimal value is a
// whole number within int64, whatever its spelling; float64 rounding decides nothing.
func TestIntegerLiterals(t *testing.T) {
	rs := ruleset(t, map[string]string{"t.yaml": `type: t
persist:
  attributes:
    n: body.n
versions:
  v1:
    fields:
      n: {type: integer, required: true}
`})
	const typeMsg, rangeMsg = "must be an integer", "is out of range for a 64-bit integer"
	for _, c := range []struct {
		lit  string
		want int64
		msg  string // the violation, when not valid
	}{
		{"2", 2, ""},
		{"-0", 0, ""},
		{"2.0", 2, ""},
		{"2.000000000000000000000000000000", 2, ""},
		{"2e3", 2000, ""},
		{"2E+3", 2000, ""},
		{"1.5e1", 15, ""},
		{"150e-1", 15, ""},
		{"-0.0", 0, ""},
		{"0e-400", 0, ""},
		{"0.000e999999999999999999999", 0, ""},
		{"-12.3400e2", -1234, ""},
		{"9223372036854775807", math.MaxInt64, ""},
		{"9223372036854775807.000", math.MaxInt64, ""},
		{"9.223372036854775807e18", math.MaxInt64, ""},
		{"92233720368547758070e-1", math.MaxInt64, ""},
		{"-9223372036854775808", math.MinInt64, ""},
		{"-9.223372036854775808e18", math.MinInt64, ""},
		{"0.9999999999999999999", 0, typeMsg},
		{"2.0000000000000001", 0, typeMsg},
		{"2.5", 0, typeMsg},
		{"1e-400", 0, typeMsg},
		{"-1.5", 0, typeMsg},
		{"123456789012345678901234567890e-11", 0, typeMsg},
		{"1.5e-999999999999999999999", 0, typeMsg},
		{"9223372036854775808", 0, rangeMsg},
		{"9.223372036854775808e18", 0, rangeMsg},
		{"-9.223372036854775809e18", 0, rangeMsg},
		{"1e19", 0, rangeMsg},
		{"10000000000000000000000e-3", 0, rangeMsg},
		{"1e400", 0, rangeMsg},
		{"-1.5e400", 0, rangeMsg},
		{"1e999999999999999999999", 0, rangeMsg},
	} {
		v := rs.Evaluate(context.Background(), `{"event_id":"e","event_type":"t","schema_version":"v1","tenant_id":"x","body":{"n":`+c.lit+`}}`)
		if c.msg != "" {
			if v.Outcome != Invalid || len(v.Violations) != 1 || v.Violations[0].Rule != "body.n.type" || v.Violations[0].Message != c.msg {
				t.Errorf("%s: got %s %v %v, want body.n.type: %s", c.lit, v.Outcome, v.Violations, v.Err, c.msg)
			}
			continue
		}
		if v.Outcome != Valid {
			t.Errorf("%s: %s %s, want %d", c.lit, v.Outcome, v.Reason(), c.want)
			continue
		}
		if got := v.Persist.Attributes[0].Value; got != c.want {
			t.Errorf("%s: rules see %v (%T), want %d", c.lit, got, got, c.want)
		}
	}
}

// TestNumberRounding pins what the README says of number fields: a literal is rounded
// to the nearest float64; below the smallest one it becomes 0 (a number, so `gt: 0`
// then rejects it), beyond the largest it is out of range.
func TestNumberRounding(t *testing.T) {
	rs := ruleset(t, map[string]string{"t.yaml": `type: t
persist:
  attributes:
    x: body.x
versions:
  v1:
    fields:
      x: {type: number, required: true}
      p: {type: number, gt: 0}
`})
	ev := func(b string) *Verdict {
		return rs.Evaluate(context.Background(), `{"event_id":"e","event_type":"t","schema_version":"v1","tenant_id":"x","body":`+b+`}`)
	}
	for lit, want := range map[string]float64{
		"1e-400":                 0,
		"4.9e-324":               math.SmallestNonzeroFloat64,
		"100.00000000000000001":  100,
		"0.1":                    0.1,
		"1.7976931348623157e308": math.MaxFloat64,
		"9007199254740993":       9007199254740992, // 2^53+1 rounds to even
	} {
		v := ev(`{"x":` + lit + `}`)
		if v.Outcome != Valid || v.Persist.Attributes[0].Value != want {
			t.Errorf("%s: %s %s %v, want %v", lit, v.Outcome, v.Reason(), v.Persist, want)
		}
	}
	if v := ev(`{"x":-1e-400}`); v.Outcome != Valid || !math.Signbit(v.Persist.Attributes[0].Value.(float64)) {
		t.Errorf("-1e-400: %s %v, want -0", v.Outcome, v.Persist)
	}
	if v := ev(`{"x":1,"p":1e-400}`); v.Outcome != Invalid || len(v.Violations) != 1 || v.Violations[0].Rule != "body.p.gt" {
		t.Errorf("p = 1e-400: %s %v, want body.p.gt", v.Outcome, v.Violations)
	}
	for _, lit := range []string{"1e400", "-1.8e308"} {
		if v := ev(`{"x":` + lit + `}`); v.Outcome != Invalid || len(v.Violations) != 1 || v.Violations[0].Message != "is out of range for a 64-bit number" {
			t.Errorf("%s: %s %v", lit, v.Outcome, v.Violations)
		}
	}
}

// TestByteOrderMark: a message that starts with a UTF-8 byte order mark is
// undecodable, and the error says so rather than "not a JSON object".
func TestByteOrderMark(t *testing.T) {
	rs := shipped(t)
	const bom = "\uFEFF"
	for _, body := range []string{bom + benchOrder, " " + bom + benchOrder, bom} {
		v := rs.Evaluate(context.Background(), body)
		var de *DecodeError
		if v.Outcome != Invalid || !errors.As(v.Err, &de) || !strings.Contains(de.Reason, "UTF-8 byte order mark") {
			t.Errorf("%q: got %s %v, want a byte order mark error", body, v.Outcome, v.Err)
			continue
		}
		if want := strings.Index(body, bom); de.Offset != want {
			t.Errorf("%q: offset %d, want %d", body, de.Offset, want)
		}
		if _, err := DecodeDocument(body); err == nil || !strings.Contains(err.Error(), "UTF-8 byte order mark") {
			t.Errorf("DecodeDocument(%q): %v", body, err)
		}
	}
	// Inside a string it is an ordinary character.
	if v := rs.Evaluate(context.Background(), strings.Replace(benchOrder, `"ord-1"`, `"`+bom+`ord-1"`, 1)); v.Outcome != Valid {
		t.Errorf("a byte order mark inside a string: %s %s", v.Outcome, v.Reason())
	}
}

// TestExactIntAgainstBigRat compares exactInt with math/big on random literals.
func TestExactIntAgainstBigRat(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	digits := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "0000123456789"[r.IntN(13)]
		}
		return string(b)
	}
	minI, maxI := big.NewInt(math.MinInt64), big.NewInt(math.MaxInt64)
	for range 200000 {
		lit := ""
		if r.IntN(2) == 0 {
			lit = "-"
		}
		if w := digits(1 + r.IntN(22)); w[0] == '0' {
			lit += "0"
		} else {
			lit += w
		}
		if r.IntN(2) == 0 {
			lit += "." + digits(1+r.IntN(22))
		}
		if r.IntN(2) == 0 {
			lit += "eE"[r.IntN(2):][:1] + []string{"", "+", "-"}[r.IntN(3)] + strconv.Itoa(r.IntN(40))
		}
		x, ok := new(big.Rat).SetString(lit)
		if !ok {
			t.Fatalf("big.Rat cannot read %s", lit)
		}
		n, integral, inRange := exactInt(lit)
		wantIntegral := x.IsInt()
		wantInRange := wantIntegral && x.Num().Cmp(minI) >= 0 && x.Num().Cmp(maxI) <= 0
		if integral != wantIntegral || inRange != wantInRange || inRange && x.Num().Int64() != n {
			t.Fatalf("exactInt(%s) = %d, %v, %v; want integral %v, in range %v (%s)", lit, n, integral, inRange, wantIntegral, wantInRange, x.RatString())
		}
	}
}
