package dynamotable

import (
	"context"
	"strings"
	"testing"

	"eventproc/adapters/awstest"
	"eventproc/worker"
)

// TestOversizedKeyUnwritable: against dynalite, which refuses a partition key over
// 2,048 bytes and a sort key over 1,024 as DynamoDB does (ValidationException), such an
// item is a *worker.UnwritableError in both modes, in BatchUpsert whether or not it
// carries a payload hash (its read of the stored hash fails first), and the other items
// of its call are stored; Lookup of such a key is unwritable too.
func TestOversizedKeyUnwritable(t *testing.T) {
	e := awstest.Shared(t)
	c := e.DynamoDBClient()
	bigPK, bigSK := strings.Repeat("p", 2049), strings.Repeat("s", 1025)
	for _, mode := range []Mode{BatchUpsert, ConditionalPut} {
		t.Run(mode.String(), func(t *testing.T) {
			name := e.CreateTable(t, "keysize", "pk", "sk")
			tbl := New(c, Options{Mode: mode})
			item := func(pk, sk string, hashed bool) worker.Item {
				attrs := map[string]any{"body": "x"}
				if hashed {
					attrs[worker.HashAttribute] = "h-" + pk[:1] + sk[:1]
				}
				return worker.Item{Table: name, Key: map[string]string{"pk": pk, "sk": sk}, Attrs: attrs}
			}
			items := []worker.Item{
				item("a", "1", true), item(bigPK, "1", true), item("b", bigSK, true),
				item(bigPK, "2", false), item("c", "1", true), item("d", "1", false),
			}
			errs := tbl.Put(context.Background(), items)
			for i, err := range errs {
				bad := len(items[i].Key["pk"]) > 2048 || len(items[i].Key["sk"]) > 1024
				if bad != worker.IsUnwritable(err) || (!bad && err != nil) {
					t.Errorf("item %d (pk %d bytes, sk %d bytes): %v", i, len(items[i].Key["pk"]), len(items[i].Key["sk"]), err)
				}
			}
			if n := count(t, c, name); n != 3 {
				t.Errorf("%d items stored, want the 3 valid ones", n)
			}
			if _, _, err := tbl.Lookup(context.Background(), name, map[string]string{"pk": bigPK, "sk": "1"}); !worker.IsUnwritable(err) {
				t.Errorf("Lookup of a partition key over 2,048 bytes = %v, want unwritable", err)
			}
		})
	}
}
