package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf8"
)

// FuzzEvaluate: decoding and evaluating any body never panics, and the verdict is
// consistent (Valid has a key and the body document, Invalid has a reason).
func FuzzEvaluate(f *testing.F) {
	rs := shipped(f)
	f.Add(benchOrder)
	f.Add(msg("v2", `{"order_id":"o","user_id":"u","total":10,"items_count":1,"status":"pending","currency":"EUR","items":[{"sku":"a","quantity":1,"unit_price":10}]}`))
	f.Add(`{"event_id":"e","event_type":"user.created","tenant_id":"t","client_id":"c","schema_version":"v2","occurred_at":"x","body":{"user_id":"u","email":"a@b.co","name":"n","role":"admin"}}`)
	f.Add(`{"a":"\ud800\udc00","b":[1e400,-0,0.5e-3]}`)
	f.Add("[]")
	f.Add("")
	for _, s := range rs.suites {
		for _, c := range s.cases {
			f.Add(c.input)
		}
	}
	f.Add(snsAWS(benchOrder))
	f.Add(snsFauxqs(`{"event_id":`, map[string]string{"a": "b"}))
	f.Add(`{"Type":"Notification","TopicArn":"a","Message":12,"MessageAttributes":{"a":{"Value":1}}}`)
	f.Fuzz(func(t *testing.T, body string) {
		// The body as is, wrapped in a notification, and read as one under every
		// transport: never a panic, always a consistent verdict.
		checkVerdict(t, rs, body, ForStorage)
		checkVerdict(t, rs, body, ForStorage, WithTransport(TransportSNS))
		checkVerdict(t, rs, body, ForStorage, WithTransport(TransportRaw))
		wrapped := snsFauxqs(body, map[string]string{"k": body})
		if utf8.ValidString(body) {
			raw := rs.Evaluate(context.Background(), body, WithTransport(TransportRaw))
			for _, tr := range []Transport{TransportAuto, TransportSNS} {
				v := checkVerdict(t, rs, wrapped, ForStorage, WithTransport(tr), WithMessage(&Message{ID: "m"}))
				if v.Outcome != raw.Outcome || v.Reason() != raw.Reason() {
					t.Fatalf("wrapped under %s: %s (%s), raw: %s (%s)", tr, v.Outcome, v.Reason(), raw.Outcome, raw.Reason())
				}
			}
		}
	})
}

// checkVerdict evaluates body and fails on an inconsistent verdict or an engine panic.
func checkVerdict(t *testing.T, rs *Ruleset, body string, opts ...EvalOption) *Verdict {
	t.Helper()
	v := rs.Evaluate(context.Background(), body, opts...)
	switch v.Outcome {
	case Valid:
		if v.Persist == nil || len(v.Persist.Key) == 0 || v.Body == nil || v.Err != nil || len(v.Violations) > 0 {
			t.Fatalf("inconsistent valid verdict %+v", v)
		}
	case Invalid:
		if v.Reason() == "" {
			t.Fatalf("invalid verdict without a reason: %+v", v)
		}
	case RuleFailed:
		if v.Err == nil {
			t.Fatalf("rule failure without an error: %+v", v)
		}
		if strings.Contains(v.Err.Error(), "internal error") {
			t.Fatalf("engine panic: %v", v.Err)
		}
	}
	if _, err := DecodeDocument(body); err == nil && v.Outcome == Invalid && v.Err != nil && v.Message == nil {
		if _, isDecode := v.Err.(*DecodeError); isDecode {
			t.Fatalf("DecodeDocument accepts what Evaluate cannot decode: %v", v.Err)
		}
	}
	return v
}

// FuzzLoad: loading any events.d file never panics and always reports positions
// inside the file.
func FuzzLoad(f *testing.F) {
	paths, _ := filepath.Glob("../events.d/*.yaml")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if !strings.HasSuffix(p, "_test.yaml") && !strings.HasSuffix(p, "envelope.yaml") && !strings.HasSuffix(p, "defaults.yaml") {
			f.Add(string(b))
		}
	}
	f.Add("type: t\nversions: {v1: {fields: {a: {type: list, items: {type: object, fields: {b: {type: string}}}}}}}\n")
	f.Add("type: t\nversions:\n  v1:\n    extends: v1\n")
	f.Fuzz(func(t *testing.T, src string) {
		fsys := fstest.MapFS{"t.yaml": &fstest.MapFile{Data: []byte(src)}}
		for n, d := range baseFiles {
			fsys[n] = &fstest.MapFile{Data: []byte(d)}
		}
		rs, diags := Load(fsys)
		for _, d := range diags {
			if d.Code == "internal" {
				t.Fatalf("internal error: %s", d)
			}
			if d.Line < 1 || d.Col < 1 {
				t.Fatalf("diagnostic without a position: %s", d)
			}
		}
		if rs != nil {
			rs.Test(context.Background())
		}
	})
}

// FuzzRuleExpr: any CEL text as a rule either fails to load with a positioned
// diagnostic or evaluates without panicking.
func FuzzRuleExpr(f *testing.F) {
	for _, e := range []string{
		`body.total > 0.0`, `has(body.items) && body.items.all(i, i.quantity > 0)`,
		`body.status in ["a", "b"]`, `body.total / 0.0 > 1.0`, `int(body.status) > 0`,
		`body.items.map(i, i.unit_price).sum() > 0.0`, `size(body.order_id) / 0 == 1`,
		`body.?currency.orValue("EUR") == "EUR"`, `header.occurred_at.matches("^[0-9]")`,
		`isEmail(header.tenant_id) || isUUID(header.event_id)`, `timestamp(header.occurred_at) < timestamp("2030-01-01T00:00:00Z")`,
	} {
		f.Add(e)
	}
	envelope, _ := os.ReadFile("../events.d/envelope.yaml")
	orders, _ := os.ReadFile("../events.d/order.placed.yaml")
	f.Fuzz(func(t *testing.T, expr string) {
		if strings.ContainsAny(expr, "\n\r") {
			return
		}
		quoted := "'" + strings.ReplaceAll(expr, "'", "''") + "'"
		src := string(orders) + "      - id: fuzzed\n        expr: " + quoted + "\n"
		fsys := fstest.MapFS{
			"envelope.yaml":     &fstest.MapFile{Data: envelope},
			"defaults.yaml":     &fstest.MapFile{Data: []byte(baseFiles["defaults.yaml"])},
			"order.placed.yaml": &fstest.MapFile{Data: []byte(src)},
		}
		rs, diags := Load(fsys)
		for _, d := range diags {
			if d.Code == "internal" {
				t.Fatalf("internal error: %s", d)
			}
		}
		if rs == nil {
			return
		}
		for _, body := range []string{
			msg("v2", `{"order_id":"o","user_id":"u","total":10,"items_count":1,"status":"pending","currency":"EUR","items":[{"sku":"a","quantity":1,"unit_price":10}]}`),
			msg("v2", `{"order_id":"o","user_id":"u","total":10,"items_count":1,"status":"pending","currency":"EUR"}`),
		} {
			v := rs.Evaluate(context.Background(), body)
			if v.Err != nil && strings.Contains(v.Err.Error(), "internal error") {
				t.Fatalf("engine panic on %q: %v", expr, v.Err)
			}
		}
	})
}
