package dynamotable

import (
	"context"
	"testing"

	"eventproc/adapters/awstest"
	"eventproc/worker"
)

// TestLookup: against dynalite, Lookup finds a stored item's payload hash, says so
// when the item has none, does not find an absent key, and fails a missing table as a
// deployment error.
func TestLookup(t *testing.T) {
	e := awstest.Shared(t)
	c := e.DynamoDBClient()
	name := e.CreateTable(t, "lookup", "pk", "sk")
	tbl := New(c, Options{})
	items := []worker.Item{
		{Table: name, Key: map[string]string{"pk": "a", "sk": "1"}, Attrs: map[string]any{worker.HashAttribute: "abc123", "body": "x"}},
		{Table: name, Key: map[string]string{"pk": "b", "sk": "1"}, Attrs: map[string]any{"body": "y"}},
	}
	for i, err := range tbl.Put(context.Background(), items) {
		if err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	for _, tc := range []struct {
		key   map[string]string
		hash  string
		found bool
	}{
		{map[string]string{"pk": "a", "sk": "1"}, "abc123", true},
		{map[string]string{"pk": "b", "sk": "1"}, "", true},
		{map[string]string{"pk": "a", "sk": "2"}, "", false},
	} {
		hash, found, err := tbl.Lookup(context.Background(), name, tc.key)
		if err != nil || hash != tc.hash || found != tc.found {
			t.Errorf("Lookup(%v) = %q, %v, %v; want %q, %v, nil", tc.key, hash, found, err, tc.hash, tc.found)
		}
	}
	_, _, err := tbl.Lookup(context.Background(), awstest.UniqueName("missing"), map[string]string{"pk": "a"})
	if !worker.IsFatal(err) {
		t.Errorf("Lookup in a missing table = %v, want a fatal error", err)
	}
}
