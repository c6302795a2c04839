package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// The EventBridge envelope agrees with the predecessor's: the same events, sent as
// predecessor messages and as EventBridge events, get the same verdicts and items.

// eventBridgeConst is the shipped EventBridge envelope with a constant version
// instead of the body path.
const eventBridgeConst = `envelope:
  name: eventbridge-const
  type_field: detail-type
  version: v1
  id_field: id
  body_field: detail
  fields:
    version:     {type: string, required: true, enum: ["0"]}
    id:          {type: string, required: true, min_length: 1}
    detail-type: {type: string, required: true, min_length: 1}
    source:      {type: string, required: true, min_length: 1}
    account:     {type: string, required: true, min_length: 1}
    region:      {type: string, required: true, min_length: 1}
    time:        {type: timestamp, required: true}
    resources:   {type: list, items: {type: string}}
  variables:
    tenant_id: header.account
    event_id: header.id
`

// shippedWith is the shipped events.d plus the given files.
func shippedWith(t *testing.T, extra map[string]string) fs.FS {
	t.Helper()
	m := fstest.MapFS{}
	paths, err := fs.Glob(os.DirFS("../events.d"), "*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("shipped events.d: %v", err)
	}
	for _, p := range paths {
		b, err := os.ReadFile("../events.d/" + p)
		if err != nil {
			t.Fatal(err)
		}
		m[p] = &fstest.MapFile{Data: b}
	}
	for p, s := range extra {
		m[p] = &fstest.MapFile{Data: []byte(s)}
	}
	return m
}

// toEventBridge converts a predecessor message into an EventBridge event: account =
// the tenant, id = the event id, detail-type = the type, detail = the body, with the
// version in detail.schema_version (withVersion) or left out (a constant envelope). It
// reports false for a message whose predecessor header is not complete, or whose body
// is not an object: what the two envelopes' headers say about those differs by design
// (each envelope's suite covers it).
func toEventBridge(doc map[string]any, withVersion bool) (string, bool) {
	for _, k := range []string{"event_id", "event_type", "tenant_id", "client_id", "schema_version", "occurred_at"} {
		if s, ok := doc[k].(string); !ok || s == "" {
			return "", false
		}
	}
	body, ok := doc["body"].(map[string]any)
	if !ok {
		return "", false
	}
	detail := maps.Clone(body)
	if withVersion {
		detail["schema_version"] = doc["schema_version"]
	}
	b, err := json.Marshal(map[string]any{
		"version": "0", "id": doc["event_id"], "detail-type": doc["event_type"], "source": "com.example.shop",
		"account": doc["tenant_id"], "time": "2026-02-04T17:00:15Z", "region": "eu-west-1", "resources": []any{},
		"detail": detail,
	})
	return string(b), err == nil
}

// sameAcrossEnvelopes reports how two verdicts of the same event differ ("" when they agree
// on all that does not depend on the envelope). dropVersion is the body member the
// EventBridge event adds to the body ("" for none).
func sameAcrossEnvelopes(a, b *Verdict, dropVersion string) string {
	switch {
	case a.Outcome != b.Outcome || a.EventType != b.EventType || a.Version != b.Version || a.EventID != b.EventID:
		return fmt.Sprintf("verdicts: %s %s/%s %s (%s) vs %s %s/%s %s (%s)", a.Outcome, a.EventType, a.Version, a.EventID, a.Reason(),
			b.Outcome, b.EventType, b.Version, b.EventID, b.Reason())
	case a.Reason() != b.Reason():
		return fmt.Sprintf("reasons: %q vs %q", a.Reason(), b.Reason())
	case !reflect.DeepEqual(a.Violations, b.Violations) || !reflect.DeepEqual(a.Warnings, b.Warnings):
		return fmt.Sprintf("violations: %v %v vs %v %v", a.Violations, a.Warnings, b.Violations, b.Warnings)
	case !reflect.DeepEqual(a.Persist, b.Persist):
		return fmt.Sprintf("items: %+v vs %+v", a.Persist, b.Persist)
	}
	body := b.Body
	if dropVersion != "" && body != nil {
		body = maps.Clone(body)
		delete(body, dropVersion)
	}
	if !reflect.DeepEqual(a.Body, body) {
		return fmt.Sprintf("bodies: %v vs %v", a.Body, b.Body)
	}
	if (a.Rejected == nil) != (b.Rejected == nil) {
		return "one is rejected, the other not"
	}
	if a.Rejected != nil && (a.Rejected.Table != b.Rejected.Table || !reflect.DeepEqual(a.Rejected.Attributes, b.Rejected.Attributes)) {
		return fmt.Sprintf("rejected items: %+v vs %+v", a.Rejected, b.Rejected)
	}
	return ""
}

// predecessorEvents is the shipped suites' messages (the predecessor envelope's), and
// events generated from the declarations, valid and invalid, decoded.
func predecessorEvents(t *testing.T, pred *Ruleset) []map[string]any {
	var out []map[string]any
	add := func(body string) {
		if doc, err := DecodeDocument(body); err == nil {
			out = append(out, doc)
		}
	}
	for _, s := range pred.suites {
		for _, c := range s.cases {
			add(c.input)
		}
	}
	r := rand.New(rand.NewPCG(11, 12))
	for _, ti := range pred.Types() {
		for _, v := range ti.Versions {
			for i := range 12 {
				body, err := pred.Generate(ti.Name, v, r, i%3 != 0)
				if err != nil {
					t.Fatal(err)
				}
				add(body)
			}
		}
	}
	return out
}

func TestEventBridgeAgreesWithPredecessor(t *testing.T) {
	pred := shipped(t)
	fsys := shippedWith(t, map[string]string{"envelope.eventbridge-const.yaml": eventBridgeConst})
	for _, c := range []struct {
		envelope    string
		withVersion bool
		min         int // events compared, at least
	}{
		{"eventbridge", true, 80},
		{"eventbridge-const", false, 30},
	} {
		t.Run(c.envelope, func(t *testing.T) {
			eb, ds := Load(fsys, WithEnvelope(c.envelope))
			if eb == nil || ds.HasErrors() {
				t.Fatalf("load: %v", ds)
			}
			compared, valid, invalid := 0, 0, 0
			for _, doc := range predecessorEvents(t, pred) {
				if !c.withVersion && doc["schema_version"] != "v1" {
					continue // a constant v1 cannot carry another version
				}
				ev, ok := toEventBridge(doc, c.withVersion)
				if !ok {
					continue
				}
				orig, _ := json.Marshal(doc)
				a := pred.Evaluate(context.Background(), string(orig), ForStorage)
				b := eb.Evaluate(context.Background(), ev, ForStorage)
				drop := ""
				if c.withVersion {
					drop = "schema_version"
				}
				if diff := sameAcrossEnvelopes(a, b, drop); diff != "" {
					t.Errorf("%s\n%s\n%s", diff, orig, ev)
				}
				compared++
				if a.Outcome == Valid {
					valid++
				} else {
					invalid++
				}
			}
			t.Logf("compared %d events: %d valid, %d not", compared, valid, invalid)
			if compared < c.min || valid == 0 || invalid == 0 {
				t.Errorf("compared %d events (%d valid, %d not); want at least %d of both kinds", compared, valid, invalid, c.min)
			}
		})
	}
}

// TestEventBridgeVersionInBody: the body path is read before the body is decoded, in
// any position, and rules see it only when the version's schema declares it; a body
// that does not declare it is not stricter for it.
func TestEventBridgeVersionInBody(t *testing.T) {
	rs, ds := Load(shippedWith(t, nil), WithEnvelope("eventbridge"))
	if rs == nil || ds.HasErrors() {
		t.Fatal(ds)
	}
	ev := func(detail string) string {
		return `{"version":"0","id":"e-1","detail-type":"order.placed","source":"s","account":"tenant-7","time":"2026-02-04T17:00:15Z","region":"eu-west-1","resources":[],"detail":` + detail + `}`
	}
	for _, c := range []struct {
		detail, want string
	}{
		{`{"order_id":"o","user_id":"u","total":1,"items_count":1,"status":"s","schema_version":"v1"}`, "valid v1"},
		{`{"schema_version":"v2","order_id":"o","user_id":"u","total":1,"items_count":1,"status":"shipped","currency":"EUR"}`, "valid v2"},
		{`{"nested":{"schema_version":"v1"},"order_id":"o","user_id":"u","total":1,"items_count":1,"status":"s"}`, "invalid  body.schema_version.required"},
		{`{"schema_version":null,"order_id":"o"}`, "invalid  body.schema_version.required"},
		{`{"schema_version":["v1"],"order_id":"o"}`, "invalid  body.schema_version.type"},
		{`{"schema_version":"v\u0031","order_id":"o","user_id":"u","total":1,"items_count":1,"status":"s"}`, "valid v1"},
		{`{"schema_version":"v1","schema_version":"v2"}`, "invalid  undecodable"},
	} {
		v := rs.Evaluate(context.Background(), ev(c.detail))
		got := v.Outcome.String() + " " + v.Version
		for _, x := range v.Violations {
			got += " " + x.Rule
		}
		if v.Err != nil {
			got += " " + strings.Fields(v.Err.Error())[0]
		}
		if got != c.want {
			t.Errorf("%s: got %q, want %q", c.detail, got, c.want)
		}
	}
}

// TestEventBridgeGenerate: the generator writes the version where the envelope reads it
// (in the body, or nowhere for a constant), and refuses a version a constant excludes.
func TestEventBridgeGenerate(t *testing.T) {
	fsys := shippedWith(t, map[string]string{"envelope.eventbridge-const.yaml": eventBridgeConst})
	for _, name := range []string{"eventbridge", "eventbridge-const"} {
		rs, ds := Load(fsys, WithEnvelope(name))
		if rs == nil || ds.HasErrors() {
			t.Fatalf("%s: %v", name, ds)
		}
		var kinds []Kind
		for _, ti := range rs.Types() {
			for _, v := range ti.Versions {
				if c := rs.Envelope().Version; c == "" || v == c {
					kinds = append(kinds, Kind{ti.Name, v})
				}
			}
		}
		g, err := rs.NewGenerator(GenerateOptions{Kinds: kinds, Invalid: 0.25, Seed: 7})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for range 40 {
			e, err := g.Next()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			v := rs.Evaluate(context.Background(), e.Body)
			if (v.Outcome == Valid) != e.Valid || e.Valid && (v.EventType != e.Kind.Type || v.Version != e.Kind.Version) {
				t.Fatalf("%s: generated %+v valid=%v, evaluated %s %s/%s: %s\n%s", name, e.Kind, e.Valid, v.Outcome, v.EventType, v.Version, v.Reason(), e.Body)
			}
			if doc, err := DecodeDocument(e.Body); err == nil && name == "eventbridge-const" {
				if detail, _ := doc["detail"].(map[string]any); detail["schema_version"] != nil {
					t.Errorf("%s: a constant version is written in the body: %s", name, e.Body)
				}
			}
		}
		if name == "eventbridge-const" {
			if _, err := rs.NewGenerator(GenerateOptions{Kinds: []Kind{{"order.placed", "v2"}}}); err == nil || !strings.Contains(err.Error(), `constant version "v1"`) {
				t.Errorf("a version the constant excludes: %v", err)
			}
		}
	}
}

// TestDashedNames: a field named with '-' is read in CEL with '_' (in rules, variables,
// keys and through dyn), while messages, stored fields and rejected headers keep the
// JSON name. A body that declares the version's member lets rules read it.
func TestDashedNames(t *testing.T) {
	rs, ds := Load(shippedWith(t, map[string]string{"rules.yaml": `type: order.placed.audit
persist:
  attributes:
    kind: header.detail_type + "/" + dyn(header)["detail-type"]
    ref: body.order_ref
versions:
  v1:
    fields:
      order-ref: {type: string, required: true}
      schema_version: {type: string, required: true}
    rules:
      - id: known-source
        field: header.detail_type
        expr: header.detail_type.startsWith("order.") && has(dyn(header).detail_type)
      - id: version-seen-in-body
        expr: body.schema_version == "v1"
`}), WithEnvelope("eventbridge"))
	if rs == nil || ds.HasErrors() {
		t.Fatal(ds)
	}
	msg := `{"version":"0","id":"e-1","detail-type":"order.placed.audit","source":"s","account":"t-1","time":"2026-02-04T17:00:15Z","region":"r","detail":{"schema_version":"v1","order-ref":"o-9"}}`
	v := rs.Evaluate(context.Background(), msg, ForStorage)
	if v.Outcome != Valid {
		t.Fatalf("%s: %s", v.Outcome, v.Reason())
	}
	if got := fmt.Sprint(v.Persist.Attributes); got != "[{kind order.placed.audit/order.placed.audit} {ref o-9}]" {
		t.Errorf("attributes %s", got)
	}
	names := []string{}
	for _, f := range v.Fields {
		names = append(names, f.Name)
	}
	if !strings.Contains(strings.Join(names, ","), "detail-type") || v.Body["order-ref"] != "o-9" {
		t.Errorf("stored fields %v, body %v: the JSON names are kept", names, v.Body)
	}
	v = rs.Evaluate(context.Background(), strings.Replace(msg, `"order-ref":"o-9"`, `"order-ref":7`, 1), ForStorage)
	if v.Outcome != Invalid || len(v.Violations) != 1 || v.Violations[0].Field != "body.order_ref" {
		t.Fatalf("%s: %v", v.Outcome, v.Violations)
	}
	header := map[string]any{}
	for _, a := range v.Header {
		header[a.Name] = a.Value
	}
	if header["detail-type"] != "order.placed.audit" {
		t.Errorf("rejected header %v: the JSON names are kept", header)
	}
}
