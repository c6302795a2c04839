package dynamotable

import (
	"context"
	"strings"
	"testing"

	"eventproc/adapters/awstest"
	"eventproc/worker"
)

// TestMissingTableSplitsPerTable: one BatchWriteItem naming a missing table fails whole
// (ResourceNotFoundException); the items for the tables that exist must still be
// stored, and only those for the missing table fail, as fatal.
func TestMissingTableSplitsPerTable(t *testing.T) {
	t.Parallel()
	e := awstest.Shared(t)
	c := e.DynamoDBClient()
	name := e.CreateTable(t, "split", "pk")
	other := e.CreateTable(t, "split", "pk")
	missing := awstest.UniqueName("missing")
	items := []worker.Item{
		{Table: name, Key: map[string]string{"pk": "a"}, Attrs: map[string]any{"n": int64(1)}},
		{Table: missing, Key: map[string]string{"pk": "m"}, Attrs: map[string]any{}},
		{Table: other, Key: map[string]string{"pk": "b"}, Attrs: map[string]any{"n": int64(2)}},
		{Table: name, Key: map[string]string{"pk": "c"}, Attrs: map[string]any{"n": int64(3)}},
	}
	errs := New(c, Options{}).Put(context.Background(), items)
	for i, err := range errs {
		if i == 1 {
			if !worker.IsFatal(err) || !strings.Contains(err.Error(), " to "+missing+": ") {
				t.Errorf("item for the missing table: %v, want a *worker.FatalError naming the table", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("item %d: %v, want it stored beside the missing table's", i, err)
		}
	}
	if n, m := count(t, c, name), count(t, c, other); n != 2 || m != 1 {
		t.Errorf("stored %d and %d items, want 2 and 1", n, m)
	}
}
