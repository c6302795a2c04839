package dynamotable

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"eventproc/adapters/awstest"
	"eventproc/worker"
)

// TestBatchIsolatesInvalidItem: an item DynamoDB refuses (too large, a number out of
// range) fails a whole BatchWriteItem call; the other items of the batch must still be
// stored, and only the bad ones fail.
func TestBatchIsolatesInvalidItem(t *testing.T) {
	t.Parallel()
	e := awstest.Shared(t)
	c := e.DynamoDBClient()
	name := e.CreateTable(t, "isolate", "pk")
	var items []worker.Item
	for i := range 6 {
		items = append(items, worker.Item{Table: name, Key: map[string]string{"pk": fmt.Sprint(i)}, Attrs: map[string]any{"n": int64(i)}})
	}
	items[1].Attrs["big"] = strings.Repeat("x", 500<<10) // over the 400 KB item limit
	items[4].Attrs["huge"] = json.Number("1e400")        // out of DynamoDB's number range
	errs := New(c, Options{}).Put(context.Background(), items)
	for i, err := range errs {
		bad := i == 1 || i == 4
		switch {
		case bad && !worker.IsUnwritable(err):
			t.Errorf("item %d: %v, want a *worker.UnwritableError (no retry can store it)", i, err)
		case !bad && err != nil:
			t.Errorf("item %d: %v, want it stored beside the bad ones", i, err)
		}
	}
	if n := count(t, c, name); n != 4 {
		t.Errorf("%d items stored, want 4", n)
	}
}
