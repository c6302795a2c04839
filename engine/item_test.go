package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"sort"
	"testing"
	"testing/fstest"
)

// rejectionRules: a type with its own rejected table and persistence attributes, and
// the defaults' rejected table for everything else.
var rejectionRules = fstest.MapFS{
	"envelope.yaml": {Data: []byte(`envelope:
  type_field: event_type
  version_field: schema_version
  id_field: event_id
  body_field: body
  fields:
    event_id: {type: string, required: true, min_length: 1}
    event_type: {type: string, required: true}
    schema_version: {type: string, required: true}
    tenant_id: {type: string, required: true, min_length: 1}
    client_id: {type: string, required: true}
    occurred_at: {type: timestamp, required: true}
`)},
	"defaults.yaml": {Data: []byte(`defaults:
  persist:
    table: events
    rejected_table: rejected
    key:
      pk: header.tenant_id + "#" + header.event_id
`)},
	"o.yaml": {Data: []byte(`type: o
persist:
  rejected_table: o_rejected
  attributes:
    order_id: body.order_id
    big: body.total > 100.0
    first_sku: body.skus[0]
versions:
  v1:
    fields:
      order_id: {type: string, required: true}
      total: {type: number, required: true, gt: 0}
      skus: {type: list, items: {type: string}}
`)},
	"o_test.yaml": {Data: []byte(`cases:
  - name: valid
    raw: '{"event_id":"e","event_type":"o","schema_version":"v1","tenant_id":"t","client_id":"c","occurred_at":"x","body":{"order_id":"o","total":1}}'
    expect: valid
`)},
}

func rejectionKey(body string) []Attribute {
	sum := sha256.Sum256([]byte(body))
	return []Attribute{{Name: "pk", Value: "rejected#" + hex.EncodeToString(sum[:])}}
}

// TestRejectedVerdict: an Invalid verdict says where it is stored (the type's own
// rejected_table, else the defaults'), and carries the header fields that were valid
// (a timestamp as sent) and the persistence attributes that could be computed.
func TestRejectedVerdict(t *testing.T) {
	rs, diags := Load(rejectionRules)
	// first_sku reads an optional field unguarded on purpose (an attribute that fails
	// is left out), so the optional-read warning is expected; errors are not.
	if rs == nil || diags.HasErrors() {
		t.Fatalf("load: %v", diags)
	}
	header := func(except ...string) []Attribute {
		all := []Attribute{{"event_id", "e"}, {"event_type", "o"}, {"schema_version", "v1"},
			{"tenant_id", "t"}, {"client_id", "c"}, {"occurred_at", "2026-02-04T14:00:15-03:00"}}
		var out []Attribute
	next:
		for _, a := range all {
			for _, x := range except {
				if a.Name == x {
					continue next
				}
			}
			out = append(out, a)
		}
		return out
	}
	const tail = `"client_id":"c","occurred_at":"2026-02-04T14:00:15-03:00"`
	cases := []struct {
		name   string
		body   string
		table  string
		attrs  []Attribute
		header []Attribute
	}{
		{"a violated field: the attributes that do not read it",
			`{"event_id":"e","event_type":"o","schema_version":"v1","tenant_id":"t",` + tail + `,"body":{"order_id":"o-1","total":-5,"skus":["a"]}}`,
			"o_rejected", []Attribute{{"order_id", "o-1"}, {"first_sku", "a"}}, header()},
		{"an attribute that fails is left out",
			`{"event_id":"e","event_type":"o","schema_version":"v1","tenant_id":"t",` + tail + `,"body":{"order_id":"o-1","total":-5}}`,
			"o_rejected", []Attribute{{"order_id", "o-1"}}, header()},
		{"an invalid header field is left out",
			`{"event_id":"e","event_type":"o","schema_version":"v1","tenant_id":"",` + tail + `,"body":{"order_id":"o-1","total":500}}`,
			"o_rejected", []Attribute{{"order_id", "o-1"}, {"big", true}}, header("tenant_id")},
		{"a wrongly typed header field is left out",
			`{"event_id":"e","event_type":"o","schema_version":"v1","tenant_id":7,` + tail + `,"body":{"order_id":"o-1","total":500}}`,
			"o_rejected", nil, header("tenant_id")},
		{"a missing body field: no attributes",
			`{"event_id":"e","event_type":"o","schema_version":"v1","tenant_id":"t",` + tail + `,"body":{"total":5}}`,
			"o_rejected", nil, header()},
		{"an unknown version of the type: its rejected table",
			`{"event_id":"e","event_type":"o","schema_version":"v9","tenant_id":"t",` + tail + `,"body":{}}`,
			"o_rejected", nil, []Attribute{{"event_id", "e"}, {"event_type", "o"}, {"schema_version", "v9"}, {"tenant_id", "t"}, {"client_id", "c"}, {"occurred_at", "2026-02-04T14:00:15-03:00"}}},
		{"an unknown type: the defaults' rejected table",
			`{"event_id":"e","event_type":"x","schema_version":"v1","tenant_id":"t",` + tail + `,"body":{}}`,
			"rejected", nil, []Attribute{{"event_id", "e"}, {"event_type", "x"}, {"schema_version", "v1"}, {"tenant_id", "t"}, {"client_id", "c"}, {"occurred_at", "2026-02-04T14:00:15-03:00"}}},
		{"a lone surrogate in the body: the header and the type's table",
			`{"event_id":"e","event_type":"o","schema_version":"v1","tenant_id":"t",` + tail + `,"body":{"order_id":"\ud800","total":5}}`,
			"o_rejected", nil, header()},
		{"a syntax error in the body: the header and the type's table",
			`{"event_id":"e","event_type":"o","schema_version":"v1","tenant_id":"t",` + tail + `,"body":{"order_id":"o-1",}}`,
			"o_rejected", nil, header()},
		{"a broken body: an invalid header field before it is left out",
			`{"event_id":"e","event_type":"o","schema_version":"v1","tenant_id":"","client_id":"c","occurred_at":"x","body":{"order_id":"\ud800","total":5}}`,
			"o_rejected", nil, header("tenant_id", "occurred_at")},
		{"a broken body: the header fields after it are unknown",
			`{"event_id":"e","event_type":"o","schema_version":"v1","body":{"order_id":"o-1","total":5,},"tenant_id":"t",` + tail + `}`,
			"o_rejected", nil, header("tenant_id", "client_id", "occurred_at")},
		{"not JSON: no header",
			`{"event_id":"e","tenant_id":"t",`,
			"rejected", nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := rs.Evaluate(context.Background(), c.body, ForStorage)
			if v.Outcome != Invalid || v.Rejected == nil {
				t.Fatalf("outcome %s, rejected %v (%s)", v.Outcome, v.Rejected, v.Reason())
			}
			want := &Persist{Table: c.table, Key: rejectionKey(c.body), Attributes: c.attrs}
			if !reflect.DeepEqual(v.Rejected, want) {
				t.Errorf("rejected\n got %#v\nwant %#v", v.Rejected, want)
			}
			if !reflect.DeepEqual(v.Header, c.header) {
				t.Errorf("header\n got %v\nwant %v", v.Header, c.header)
			}
		})
	}
	v := rs.Evaluate(context.Background(), `{"event_id":"e","event_type":"o","schema_version":"v1","tenant_id":"t",`+tail+`,"body":{"order_id":"\ud800"}}`, ForStorage)
	if v.EventType != "o" || v.Version != "v1" || v.EventID != "e" {
		t.Errorf("a broken body: type %q, version %q, id %q; want o, v1, e", v.EventType, v.Version, v.EventID)
	}
	v = rs.Evaluate(context.Background(), `{"event_id":"e","event_type":"o","schema_version":"v1","tenant_id":"t",`+tail+`,"body":{"order_id":"o-1","total":5,"skus":["a"]}}`, ForStorage)
	if v.Outcome != Valid || v.Rejected != nil || v.Header != nil {
		t.Errorf("valid verdict: outcome %s, rejected %v, header %v", v.Outcome, v.Rejected, v.Header)
	}
	var tables []string
	for _, tb := range rs.Tables() {
		if !reflect.DeepEqual(tb.Key, []string{"pk"}) {
			t.Errorf("table %s keyed by %v", tb.Name, tb.Key)
		}
		tables = append(tables, tb.Name)
	}
	if want := []string{"events", "o_rejected", "rejected"}; !reflect.DeepEqual(tables, want) {
		t.Errorf("tables %v, want %v", tables, want)
	}
}

// TestRejectedAttributesOfViolatedFields: a rejected item leaves out the attributes
// that read a field a violation concerns (directly, through a variable, or an item of a
// list), as it leaves out the header field itself.
func TestRejectedAttributesOfViolatedFields(t *testing.T) {
	rules := fstest.MapFS{}
	for name, f := range rejectionRules {
		rules[name] = f
	}
	rules["o.yaml"] = &fstest.MapFile{Data: []byte(`type: o
persist:
  rejected_table: o_rejected
  attributes:
    order_id: body.order_id
    tenant: header.tenant_id
    client: who
    big: body.total > 100.0
    first_sku: 'has(body.skus) && size(body.skus) > 0 ? body.skus[0] : ""'
versions:
  v1:
    variables:
      who: header.client_id + "/" + header.tenant_id
    fields:
      order_id: {type: string, required: true}
      total: {type: number, required: true, gt: 0}
      skus: {type: list, items: {type: string, min_length: 2}}
`)}
	rs, diags := Load(rules)
	if rs == nil || diags.HasErrors() {
		t.Fatalf("load: %v", diags)
	}
	const tail = `"client_id":"c","occurred_at":"2026-02-04T14:00:15-03:00"`
	cases := []struct {
		name, body string
		attrs      []Attribute
	}{
		{"an invalid tenant: neither tenant nor the variable that reads it",
			`{"event_id":"e","event_type":"o","schema_version":"v1","tenant_id":"",` + tail + `,"body":{"order_id":"o-1","total":500,"skus":["ab"]}}`,
			[]Attribute{{"order_id", "o-1"}, {"big", true}, {"first_sku", "ab"}}},
		{"an invalid body field",
			`{"event_id":"e","event_type":"o","schema_version":"v1","tenant_id":"t",` + tail + `,"body":{"order_id":"o-1","total":-5,"skus":["ab"]}}`,
			[]Attribute{{"order_id", "o-1"}, {"tenant", "t"}, {"client", "c/t"}, {"first_sku", "ab"}}},
		{"an invalid list item",
			`{"event_id":"e","event_type":"o","schema_version":"v1","tenant_id":"t",` + tail + `,"body":{"order_id":"o-1","total":-5,"skus":["ab","x"]}}`,
			[]Attribute{{"order_id", "o-1"}, {"tenant", "t"}, {"client", "c/t"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := rs.Evaluate(context.Background(), c.body, ForStorage)
			if v.Outcome != Invalid || v.Rejected == nil {
				t.Fatalf("outcome %s, rejected %v (%s)", v.Outcome, v.Rejected, v.Reason())
			}
			if !reflect.DeepEqual(v.Rejected.Attributes, c.attrs) {
				t.Errorf("attributes\n got %v\nwant %v (violations %v)", v.Rejected.Attributes, c.attrs, v.Violations)
			}
		})
	}
}

// TestItemFieldsCopy: ItemFields is a copy; the engine's list cannot be changed by a
// caller.
func TestItemFieldsCopy(t *testing.T) {
	f := ItemFields()
	f[0] = "changed"
	if ItemFields()[0] == "changed" {
		t.Error("ItemFields shares its backing array")
	}
}

// TestFormatSchemaPersistKeys: the JSON Schema's persist sections, the defaults' and a
// type's, list exactly the keys the parser accepts.
func TestFormatSchemaPersistKeys(t *testing.T) {
	type persist struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	var doc struct {
		Definitions struct {
			DefaultsFile struct {
				Properties struct {
					Defaults struct {
						Properties struct {
							Persist persist `json:"persist"`
						} `json:"properties"`
					} `json:"defaults"`
				} `json:"properties"`
			} `json:"defaultsFile"`
			TypeFile struct {
				Properties struct {
					Persist persist `json:"persist"`
				} `json:"properties"`
			} `json:"typeFile"`
		} `json:"definitions"`
	}
	if err := json.Unmarshal(FormatSchema, &doc); err != nil {
		t.Fatal(err)
	}
	want := append([]string(nil), persistKeys...)
	sort.Strings(want)
	for name, p := range map[string]persist{"defaults.persist": doc.Definitions.DefaultsFile.Properties.Defaults.Properties.Persist,
		"persist": doc.Definitions.TypeFile.Properties.Persist} {
		var got []string
		for k := range p.Properties {
			got = append(got, k)
		}
		sort.Strings(got)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s keys: schema %v, parser %v", name, got, want)
		}
	}
}

// TestValidVerdictDocument: a Valid verdict carries the rest of its item, decoded once:
// the message's members but the body field, in message order (undeclared ones and a
// timestamp as sent included), and the body field's object, numbers as their exact
// literals — whatever the body field is called.
func TestValidVerdictDocument(t *testing.T) {
	const msg = `{"event_id":"e","event_type":"o","schema_version":"v1","tenant_id":"t","client_id":"c",` +
		`"occurred_at":"2026-02-04T14:00:15-03:00","extra":{"n":1.50,"l":[null,true]},` +
		`%q:{"order_id":"o-\u00e9","total":5.0,"skus":["a"],"note":"x"}}`
	wantFields := []Attribute{{"event_id", "e"}, {"event_type", "o"}, {"schema_version", "v1"}, {"tenant_id", "t"},
		{"client_id", "c"}, {"occurred_at", "2026-02-04T14:00:15-03:00"},
		{"extra", map[string]any{"n": json.Number("1.50"), "l": []any{nil, true}}}}
	wantBody := map[string]any{"order_id": "o-é", "total": json.Number("5.0"), "skus": []any{"a"}, "note": "x"}
	for _, field := range []string{"body", "data"} {
		t.Run(field, func(t *testing.T) {
			rules := fstest.MapFS{}
			for name, f := range rejectionRules {
				rules[name] = f
			}
			rules["envelope.yaml"] = &fstest.MapFile{Data: bytes.Replace(rejectionRules["envelope.yaml"].Data,
				[]byte("body_field: body"), []byte("body_field: "+field), 1)}
			rules["o_test.yaml"] = &fstest.MapFile{Data: bytes.Replace(rejectionRules["o_test.yaml"].Data,
				[]byte(`"body":`), []byte(`"`+field+`":`), 1)}
			rs, diags := Load(rules)
			if rs == nil || diags.HasErrors() {
				t.Fatalf("load: %v", diags)
			}
			v := rs.Evaluate(context.Background(), fmt.Sprintf(msg, field), ForStorage)
			if v.Outcome != Valid {
				t.Fatalf("outcome %s: %s", v.Outcome, v.Reason())
			}
			if !reflect.DeepEqual(v.Fields, wantFields) {
				t.Errorf("fields\n got %#v\nwant %#v", v.Fields, wantFields)
			}
			if !reflect.DeepEqual(v.Body, wantBody) {
				t.Errorf("body\n got %#v\nwant %#v", v.Body, wantBody)
			}
			// Without ForStorage the verdict judges only: its key, but no document.
			if j := rs.Evaluate(context.Background(), fmt.Sprintf(msg, field)); j.Outcome != Valid || j.Persist == nil || j.Fields != nil || j.Body != nil {
				t.Errorf("without ForStorage: outcome %s, persist %v, fields %v, body %v", j.Outcome, j.Persist, j.Fields, j.Body)
			}
			if j := rs.Evaluate(context.Background(), `{}`); j.Outcome != Invalid || j.Rejected != nil {
				t.Errorf("without ForStorage: an invalid verdict carries %v", j.Rejected)
			}
		})
	}
}

// TestValidVerdictIsTheDocument: for every shipped envelope, type and version, a valid
// event's Fields and Body are its message as DecodeDocument decodes it.
func TestValidVerdictIsTheDocument(t *testing.T) {
	every, diags := LoadEvery(os.DirFS("../events.d"))
	if diags.HasErrors() {
		t.Fatalf("load: %v", diags)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, er := range every {
		rs := er.Rules
		for _, ti := range rs.Types() {
			for _, ver := range ti.Versions {
				for range 20 {
					body, err := rs.Generate(ti.Name, ver, r, true)
					if err != nil {
						t.Fatal(err)
					}
					v := rs.Evaluate(context.Background(), body, ForStorage)
					if v.Outcome != Valid {
						t.Fatalf("%s: %s %s generated invalid: %s", er.Envelope, ti.Name, ver, v.Reason())
					}
					want, err := DecodeDocument(body)
					if err != nil {
						t.Fatal(err)
					}
					got := map[string]any{rs.Envelope().BodyField: v.Body}
					for _, f := range v.Fields {
						if _, dup := got[f.Name]; dup {
							t.Fatalf("%s twice in %v", f.Name, v.Fields)
						}
						got[f.Name] = f.Value
					}
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("%s: verdict\n got %v\nwant %v", er.Envelope, got, want)
					}
				}
			}
		}
	}
}
