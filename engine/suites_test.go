package engine

import (
	"context"
	"os"
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

// TestShippedSuites runs every test suite of the shipped events.d.
func TestShippedSuites(t *testing.T) {
	rs := shipped(t)
	results := rs.Test(context.Background())
	if len(results) < 50 {
		t.Errorf("only %d shipped test cases", len(results))
	}
	for _, r := range results {
		if !r.Passed {
			t.Errorf("%s: %s: %s", r.Pos, r.Case, r.Message)
		}
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
