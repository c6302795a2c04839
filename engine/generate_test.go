package engine

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

// shipments loads the generator's fixture: shipment.dispatched, keyed on
// body.shipment_id, which its suite gives examples for.
func shipments(t *testing.T) *Ruleset {
	t.Helper()
	rs, ds := Load(os.DirFS("../testdata/shipments.d"))
	if rs == nil || len(ds) > 0 {
		t.Fatalf("testdata/shipments.d: %v", ds)
	}
	return rs
}

// generateN returns n events of a generator.
func generateN(t *testing.T, rs *Ruleset, o GenerateOptions, n int) []Generated {
	t.Helper()
	g, err := rs.NewGenerator(o)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]Generated, n)
	for i := range out {
		if out[i], err = g.Next(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// keyOf is the table and key an event is stored under: its Persist when valid, its
// Rejection when not.
func keyOf(rs *Ruleset, v *Verdict, body string) string {
	p := rs.Rejection(body)
	if v.Outcome == Valid {
		p = *v.Persist
	}
	return fmt.Sprint(p.Table, p.Key)
}

// TestGeneratedKeysAreDistinct: N valid events of a type keyed on a body field that
// the suites give examples for have N distinct persistence keys (and event ids), each
// valid; the key field's values match its pattern and none is a suite's example.
func TestGeneratedKeysAreDistinct(t *testing.T) {
	rs := shipments(t)
	const n = 1000
	keys, ids := map[string]bool{}, map[string]bool{}
	for _, e := range generateN(t, rs, GenerateOptions{Kinds: []Kind{{"shipment.dispatched", "v1"}}, Seed: 1}, n) {
		v := rs.Evaluate(context.Background(), e.Body)
		if v.Outcome != Valid || !e.Valid {
			t.Fatalf("generated %s (%v): %s\n%s", v.Outcome, e.Valid, v.Reason(), e.Body)
		}
		keys[keyOf(rs, v, e.Body)] = true
		ids[v.EventID] = true
		for _, ex := range []string{"SHP-00000001", "SHP-00000002", "SHP-00000003"} {
			if strings.Contains(e.Body, ex) {
				t.Fatalf("a suite's example key %s was reused: %s", ex, e.Body)
			}
		}
	}
	if len(keys) != n || len(ids) != n {
		t.Errorf("%d events: %d distinct keys, %d distinct event ids", n, len(keys), len(ids))
	}
}

// TestGeneratedShippedKeysAreDistinct: the same over the shipped rules, every type and
// version, with invalid events among them (stored under their Rejection).
func TestGeneratedShippedKeysAreDistinct(t *testing.T) {
	rs := shipped(t)
	var kinds []Kind
	for _, ti := range rs.Types() {
		for _, v := range ti.Versions {
			kinds = append(kinds, Kind{ti.Name, v})
		}
	}
	const n = 1000
	keys := map[string]bool{}
	invalid := 0
	for _, e := range generateN(t, rs, GenerateOptions{Kinds: kinds, Invalid: 0.2, Seed: 99}, n) {
		v := rs.Evaluate(context.Background(), e.Body)
		if (v.Outcome == Valid) != e.Valid || v.Outcome == RuleFailed {
			t.Fatalf("generated %s, meant valid=%v: %s", v.Outcome, e.Valid, e.Body)
		}
		if !e.Valid {
			invalid++
		}
		keys[keyOf(rs, v, e.Body)] = true
	}
	if len(keys) != n || invalid != 200 {
		t.Errorf("%d events: %d distinct keys, %d invalid (want %d, 200)", n, len(keys), invalid, n)
	}
}

// TestGeneratorIsReproducible: a seed generates the same events whatever the run's
// length (a run's first events are a shorter run's), another seed others.
func TestGeneratorIsReproducible(t *testing.T) {
	rs := shipped(t)
	o := GenerateOptions{Kinds: []Kind{{"order.placed", "v1"}, {"order.placed", "v2"}, {"user.created", "v2"}}, Invalid: 0.3, Seed: 5}
	a, b := generateN(t, rs, o, 60), generateN(t, rs, o, 20)
	if !reflect.DeepEqual(a[:20], b) {
		t.Error("the same seed generated different events")
	}
	o.Seed = 6
	c := generateN(t, rs, o, 20)
	for i := range c {
		if c[i].Body == b[i].Body {
			t.Errorf("seeds 5 and 6 both generated %s", c[i].Body)
		}
	}
}

// TestGeneratorInvalidFraction: exactly round(n × fraction) of the events are invalid,
// by the rules' own verdict.
func TestGeneratorInvalidFraction(t *testing.T) {
	rs := shipments(t)
	for _, f := range []float64{0, 0.25, 1} {
		got := 0
		for _, e := range generateN(t, rs, GenerateOptions{Kinds: []Kind{{"shipment.dispatched", "v1"}}, Invalid: f, Seed: 3}, 200) {
			if rs.Evaluate(context.Background(), e.Body).Outcome == Invalid {
				got++
			}
		}
		if want := int(200*f + 0.5); got != want {
			t.Errorf("--invalid %v: %d of 200 invalid, want %d", f, got, want)
		}
	}
}

// TestGeneratorEnumKeyRunsOut: a key that reads only an enum has as many distinct
// values as the enum: the generator gives each once, then fails rather than repeat one.
func TestGeneratorEnumKeyRunsOut(t *testing.T) {
	rs := ruleset(t, map[string]string{"r.yaml": `type: region.opened
persist:
  key:
    pk: body.region
versions:
  v1:
    fields:
      region: {type: string, required: true, enum: [eu, us]}
`})
	g, err := rs.NewGenerator(GenerateOptions{Kinds: []Kind{{"region.opened", "v1"}}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 2 {
		e, err := g.Next()
		if err != nil {
			t.Fatal(err)
		}
		seen[rs.Evaluate(context.Background(), e.Body).Persist.Key[0].Value.(string)] = true
	}
	if len(seen) != 2 {
		t.Errorf("two events gave regions %v", seen)
	}
	_, err = g.Next()
	if err == nil || !strings.Contains(err.Error(), "no new persistence key left") || !strings.Contains(err.Error(), "body.region") {
		t.Errorf("a third event: %v", err)
	}
}

// TestFieldReads: what keys, attributes and the envelope's id read, from the compiled
// expressions, through variables, selections, optional selections, indexes and
// comprehensions (whose own variables read nothing).
func TestFieldReads(t *testing.T) {
	rs := shipped(t)
	for kind, want := range map[string][]string{
		"order.placed/v1":      {"body.order_id", "header.event_id", "header.tenant_id"},
		"user.created/v2":      {"header.event_id", "header.tenant_id"},
		"payment.processed/v1": {"header.event_id", "header.tenant_id"},
	} {
		ty, v, _ := strings.Cut(kind, "/")
		if got := rs.types[ty].versions[v].reads; !reflect.DeepEqual(got, want) {
			t.Errorf("%s reads %v, want %v", kind, got, want)
		}
	}
	rs = ruleset(t, map[string]string{"t.yaml": `type: t
persist:
  key:
    pk: 'ref + "#" + string(size(body.items.filter(body, body.sku != "")))'
  attributes:
    first: body.items[body.n].sku
    city: body.?address.city.orValue("")
    whole: body.meta
versions:
  v1:
    variables:
      ref: header.tenant_id + "/" + body.code
    fields:
      code: {type: string}
      n: {type: integer}
      items: {type: list, max_length: 10, items: {type: object, fields: {sku: {type: string, max_length: 10}}}}
      address: {type: object, fields: {city: {type: string}, zip: {type: string}}}
      meta: {type: object, fields: {a: {type: string}}}
      other: {type: string}
`})
	want := []string{"body.address.city", "body.code", "body.items", "body.items[].sku", "body.meta", "body.n", "header.event_id", "header.tenant_id"}
	if got := rs.types["t"].versions["v1"].reads; !reflect.DeepEqual(got, want) {
		t.Errorf("reads %v, want %v", got, want)
	}
}

func TestIsInvalidSpreadsExactly(t *testing.T) {
	for _, tc := range []struct {
		n    int
		f    float64
		want int
	}{{53, 0.3, 16}, {10, 0, 0}, {10, 1, 10}, {7, 0.5, 4}, {1000, 0.25, 250}} {
		got := 0
		for i := range tc.n {
			if isInvalid(i, tc.f) {
				got++
			}
		}
		if got != tc.want {
			t.Errorf("%d × %v: %d invalid, want %d", tc.n, tc.f, got, tc.want)
		}
	}
}
