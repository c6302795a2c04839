package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// shipped loads the shipped events.d; it fails the test on any diagnostic.
func shipped(t testing.TB) *Ruleset {
	t.Helper()
	rs, ds := Load(os.DirFS("../events.d"))
	for _, d := range ds {
		t.Errorf("shipped events.d: %s", d)
	}
	if rs == nil {
		t.Fatal("shipped events.d does not load")
	}
	return rs
}

// TestShippedSuites runs every test suite of the shipped events.d, under each
// envelope, raw and through SNS.
func TestShippedSuites(t *testing.T) {
	rs := shipped(t)
	names := rs.EnvelopeNames()
	if strings.Join(names, ",") != "predecessor,cloudevents,eventbridge" {
		t.Fatalf("envelopes %v, want predecessor (the default), cloudevents and eventbridge", names)
	}
	total := 0
	for _, name := range names {
		rs, ds := Load(os.DirFS("../events.d"), WithEnvelope(name))
		if rs == nil {
			t.Fatalf("envelope %s: %v", name, ds)
		}
		results := rs.Test(context.Background())
		if len(results) == 0 {
			t.Errorf("envelope %s has no test cases", name)
		}
		total += len(results)
		// Through SNS (every case wrapped in a notification), the verdicts are the same.
		for _, r := range append(results, rs.Test(context.Background(), WithTransport(TransportSNS))...) {
			if !r.Passed {
				t.Errorf("%s: %s: %s", r.Pos, r.Case, r.Message)
			}
		}
	}
	if total < 100 {
		t.Errorf("only %d shipped test cases", total)
	}
}

// TestEnvelopesAgree: the same events, in either envelope, get the same verdicts and
// the same keys, with no change but the selected envelope.
func TestEnvelopesAgree(t *testing.T) {
	pred := shipped(t)
	ce, ds := Load(os.DirFS("../events.d"), WithEnvelope("cloudevents"))
	if ce == nil {
		t.Fatal(ds)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, ti := range pred.Types() {
		for _, v := range ti.Versions {
			for i := 0; i < 20; i++ {
				body, err := pred.Generate(ti.Name, v, r, i%4 != 0)
				if err != nil {
					t.Fatal(err)
				}
				doc, err := DecodeDocument(body)
				if err != nil {
					continue // a generated invalid event that is not JSON
				}
				ceDoc := map[string]any{"specversion": "1.0", "source": "/test", "id": doc["event_id"],
					"type": doc["event_type"], "schemaversion": doc["schema_version"], "tenantid": doc["tenant_id"],
					"clientid": doc["client_id"], "data": doc["body"]}
				for k, v := range ceDoc {
					if v == nil {
						delete(ceDoc, k)
					}
				}
				b, _ := json.Marshal(ceDoc)
				a, c := pred.Evaluate(context.Background(), body), ce.Evaluate(context.Background(), string(b))
				if a.Outcome != c.Outcome || a.EventType != c.EventType || a.Version != c.Version || a.EventID != c.EventID {
					t.Fatalf("verdicts differ:\n%s → %s %s\n%s → %s %s", body, a.Outcome, a.Reason(), b, c.Outcome, c.Reason())
				}
				if a.Outcome == Valid && fmt.Sprint(a.Persist) != fmt.Sprint(c.Persist) {
					t.Fatalf("items differ: %+v vs %+v", a.Persist, c.Persist)
				}
			}
		}
	}
	if _, ds := Load(os.DirFS("../events.d"), WithEnvelope("cloudevent")); !strings.Contains(fmt.Sprint(ds), `did you mean "cloudevents"?`) {
		t.Errorf("an unknown envelope: %v", ds)
	}
}

// TestShippedTypes checks that v1 of the predecessor's three types, and a v2 of at
// least two, are shipped, each with valid and invalid cases in a suite.
func TestShippedTypes(t *testing.T) {
	rs := shipped(t)
	want := map[string][]string{
		"order.placed":      {"v1", "v2"},
		"user.created":      {"v1", "v2"},
		"payment.processed": {"v1"},
	}
	got := map[string][]string{}
	for _, ti := range rs.Types() {
		got[ti.Name] = ti.Versions
	}
	for typ, versions := range want {
		for _, v := range versions {
			if !contains(got[typ], v) {
				t.Errorf("%s %s is not shipped", typ, v)
			}
		}
	}
	// Every shipped version has valid and invalid cases.
	seen := map[string]map[bool]bool{}
	for _, s := range rs.suites {
		for _, c := range s.cases {
			doc, err := DecodeDocument(c.input)
			if err != nil {
				continue
			}
			typ, _ := doc["event_type"].(string)
			ver, _ := doc["schema_version"].(string)
			id := typ + "/" + ver
			if seen[id] == nil {
				seen[id] = map[bool]bool{}
			}
			seen[id][c.expect.valid] = true
		}
	}
	for typ, versions := range got {
		for _, v := range versions {
			if !seen[typ+"/"+v][true] || !seen[typ+"/"+v][false] {
				t.Errorf("%s %s lacks valid or invalid test cases", typ, v)
			}
		}
	}
}
