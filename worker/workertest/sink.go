package workertest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"eventproc/worker"
)

// SinkHarness gives TestSink fresh tables of one implementation.
type SinkHarness struct {
	// New returns a sink writing to an empty table with the given key attributes (one
	// or two names).
	New func(t *testing.T, key []string) SinkFixture
	// FirstWriteWins says whether the sink keeps the first write of a key (conditional
	// put) rather than the last (upsert).
	FirstWriteWins bool
}

// SinkFixture is one empty table under test.
type SinkFixture struct {
	Sink  worker.Sink
	Table string // the table's name, for worker.Item.Table
	// Get reads an item back: its key and other attributes in one map, values decoded as
	// Item values (numbers may come back as json.Number).
	Get func(t *testing.T, key map[string]string) (map[string]any, bool)
	// Count returns how many items the table holds.
	Count func(t *testing.T) int
	// MissingTable names a table that does not exist ("" to skip that check).
	MissingTable string
}

// TestSink runs the conformance suite of worker.Sink.
func TestSink(t *testing.T, h SinkHarness) {
	for _, c := range sinkCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, h)
		})
	}
}

// pkOnly keys a table by one attribute, pk.
var pkOnly = []string{"pk"}

// sinkCases are the cases of TestSink, each run in parallel.
var sinkCases = []struct {
	name string
	run  func(t *testing.T, h SinkHarness)
}{
	{"PutGetEveryValueType", sinkPutGetEveryValueType},
	{"CompositeKey", sinkCompositeKey},
	{"SameKeyTwiceIsOneItem", sinkSameKeyTwiceIsOneItem},
	{"SameKeyInOneCall", sinkSameKeyInOneCall},
	{"ManyItems", sinkManyItems},
	{"EmptyPut", sinkEmptyPut},
	{"ConcurrentPuts", sinkConcurrentPuts},
	{"MissingTableIsFatal", sinkMissingTableIsFatal},
	{"KeySchemaMismatchIsFatal", sinkKeySchemaMismatchIsFatal},
	{"OversizedItemIsUnwritable", sinkOversizedItemIsUnwritable},
	{"UnconvertibleItemIsUnwritable", sinkUnconvertibleItemIsUnwritable},
	{"MissingTableBesideExisting", sinkMissingTableBesideExisting},
	{"LookupReadsThePayloadHash", sinkLookupReadsThePayloadHash},
	{"SameEventTwice", sinkSameEventTwice},
	{"OtherEventConflicts", sinkOtherEventConflicts},
	{"MixedConflicts", sinkMixedConflicts},
	{"UnhashedStoredItem", sinkUnhashedStoredItem},
}

// sinkLookupReadsThePayloadHash: the sink is a worker.Looker that reads back a stored
// item's payload hash, an item without one, and no item.
func sinkLookupReadsThePayloadHash(t *testing.T, h SinkHarness) {
	f := h.New(t, pkOnly)
	l, ok := f.Sink.(worker.Looker)
	if !ok {
		t.Fatalf("%T does not implement worker.Looker", f.Sink)
	}
	items := []worker.Item{
		{Table: f.Table, Key: map[string]string{"pk": "hashed"}, Attrs: map[string]any{worker.HashAttribute: "9f86d0", "s": "x"}},
		{Table: f.Table, Key: map[string]string{"pk": "plain"}, Attrs: map[string]any{"s": "y"}},
	}
	for i, err := range f.Sink.Put(context.Background(), items) {
		if err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	for _, tc := range []struct {
		pk, hash string
		found    bool
	}{{"hashed", "9f86d0", true}, {"plain", "", true}, {"absent", "", false}} {
		hash, found, err := l.Lookup(context.Background(), f.Table, map[string]string{"pk": tc.pk})
		if err != nil || hash != tc.hash || found != tc.found {
			t.Errorf("Lookup(%s) = %q, %v, %v; want %q, %v, nil", tc.pk, hash, found, err, tc.hash, tc.found)
		}
	}
}

func sinkPutGetEveryValueType(t *testing.T, h SinkHarness) {
	f := h.New(t, pkOnly)
	when := time.Date(2026, 2, 4, 14, 0, 15, 123456789, time.FixedZone("", -3*3600))
	attrs := map[string]any{
		"s": "text", "empty": "", "i": int64(-42), "f": 100.5, "n": json.Number("100.50"),
		"big": json.Number("12345678901234567890.123"), "t": true, "no": false, "null": nil,
		"when": when, "list": []any{"a", int64(1), nil, []any{}, map[string]any{"x": false}},
		"map":      map[string]any{"nested": map[string]any{"deep": "y", "empty": ""}, "n": json.Number("7")},
		"emptymap": map[string]any{}, "emptylist": []any{},
	}
	key := map[string]string{"pk": "item-1"}
	putOK(t, f, []worker.Item{{Table: f.Table, Key: key, Attrs: attrs}})
	got, ok := f.Get(t, key)
	if !ok {
		t.Fatalf("item not stored")
	}
	want := map[string]any{"pk": "item-1"}
	for k, v := range attrs {
		want[k] = v
	}
	want["when"] = "2026-02-04T17:00:15.123456789Z"
	if d := cmp.Diff(Canonical(want), Canonical(got)); d != "" {
		t.Errorf("stored item (-want +got):\n%s", d)
	}
}

func sinkCompositeKey(t *testing.T, h SinkHarness) {
	f := h.New(t, []string{"pk", "sk"})
	items := []worker.Item{
		{Table: f.Table, Key: map[string]string{"pk": "p", "sk": "1"}, Attrs: map[string]any{"v": "one"}},
		{Table: f.Table, Key: map[string]string{"pk": "p", "sk": "2"}, Attrs: map[string]any{"v": "two"}},
	}
	putOK(t, f, items)
	if n := f.Count(t); n != 2 {
		t.Errorf("Count = %d, want 2", n)
	}
	got, ok := f.Get(t, map[string]string{"pk": "p", "sk": "2"})
	if !ok || got["v"] != "two" {
		t.Errorf("Get(p,2) = %v, %v", got, ok)
	}
}

func sinkSameKeyTwiceIsOneItem(t *testing.T, h SinkHarness) {
	f := h.New(t, pkOnly)
	key := map[string]string{"pk": "dup"}
	putOK(t, f, []worker.Item{{Table: f.Table, Key: key, Attrs: map[string]any{"v": "first"}}})
	putOK(t, f, []worker.Item{{Table: f.Table, Key: key, Attrs: map[string]any{"v": "second"}}})
	if n := f.Count(t); n != 1 {
		t.Errorf("Count = %d, want 1", n)
	}
	want := "second"
	if h.FirstWriteWins {
		want = "first"
	}
	if got, _ := f.Get(t, key); got["v"] != want {
		t.Errorf("stored v = %v, want %q", got["v"], want)
	}
}

func sinkSameKeyInOneCall(t *testing.T, h SinkHarness) {
	f := h.New(t, pkOnly)
	key := map[string]string{"pk": "dup"}
	putOK(t, f, []worker.Item{
		{Table: f.Table, Key: key, Attrs: map[string]any{"v": "first"}},
		{Table: f.Table, Key: map[string]string{"pk": "other"}, Attrs: map[string]any{"v": "other"}},
		{Table: f.Table, Key: key, Attrs: map[string]any{"v": "second"}},
	})
	if n := f.Count(t); n != 2 {
		t.Errorf("Count = %d, want 2", n)
	}
	want := "second"
	if h.FirstWriteWins {
		want = "first"
	}
	if got, _ := f.Get(t, key); got["v"] != want {
		t.Errorf("stored v = %v, want %q", got["v"], want)
	}
}

func sinkManyItems(t *testing.T, h SinkHarness) {
	f := h.New(t, pkOnly)
	const n = 60 // more than two BatchWriteItem calls
	items := make([]worker.Item, n)
	for i := range items {
		items[i] = worker.Item{Table: f.Table, Key: map[string]string{"pk": fmt.Sprint("k", i)},
			Attrs: map[string]any{"i": int64(i), "body": map[string]any{"x": "y"}}}
	}
	putOK(t, f, items)
	putOK(t, f, items[:30]) // again: nothing new
	if got := f.Count(t); got != n {
		t.Errorf("Count = %d, want %d", got, n)
	}
}

func sinkEmptyPut(t *testing.T, h SinkHarness) {
	f := h.New(t, pkOnly)
	if errs := f.Sink.Put(context.Background(), nil); len(errs) != 0 {
		t.Errorf("Put(nil) = %v", errs)
	}
}

func sinkConcurrentPuts(t *testing.T, h SinkHarness) {
	f := h.New(t, pkOnly)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for b := range 3 {
				var items []worker.Item
				for i := range 10 {
					// Every goroutine writes the same 30 keys.
					items = append(items, worker.Item{Table: f.Table, Key: map[string]string{"pk": fmt.Sprint("k", b*10+i)},
						Attrs: map[string]any{"g": int64(g)}})
				}
				for i, err := range f.Sink.Put(context.Background(), items) {
					if err != nil {
						t.Errorf("item %d: %v", i, err)
					}
				}
			}
		})
	}
	wg.Wait()
	if got := f.Count(t); got != 30 {
		t.Errorf("Count = %d, want 30", got)
	}
}

func sinkMissingTableIsFatal(t *testing.T, h SinkHarness) {
	f := h.New(t, pkOnly)
	if f.MissingTable == "" {
		t.Skip("no missing table")
	}
	errs := f.Sink.Put(context.Background(), []worker.Item{
		{Table: f.MissingTable, Key: map[string]string{"pk": "a"}, Attrs: map[string]any{}},
		{Table: f.MissingTable, Key: map[string]string{"pk": "b"}, Attrs: map[string]any{}},
	})
	if len(errs) != 2 {
		t.Fatalf("Put returned %d errors for 2 items", len(errs))
	}
	for i, err := range errs {
		if !worker.IsFatal(err) {
			t.Errorf("item %d: %v, want a *worker.FatalError", i, err)
		}
	}
}

func sinkKeySchemaMismatchIsFatal(t *testing.T, h SinkHarness) {
	f := h.New(t, pkOnly)
	good := map[string]string{"pk": "good"}
	for _, bad := range []map[string]string{{"id": "x"}, {"id": "x", "sk": "y"}} {
		errs := f.Sink.Put(context.Background(), []worker.Item{
			{Table: f.Table, Key: good, Attrs: map[string]any{"v": "x"}},
			{Table: f.Table, Key: bad, Attrs: map[string]any{"v": "x"}},
		})
		if len(errs) != 2 {
			t.Fatalf("Put returned %d errors for 2 items", len(errs))
		}
		// A key that does not match the table's schema is a deployment error (events.d
		// and the table disagree): retrying it would only spend attempts.
		if !worker.IsFatal(errs[1]) {
			t.Errorf("key %v on a table keyed by pk: %v, want a *worker.FatalError", bad, errs[1])
		}
		if errs[0] != nil {
			t.Errorf("item with the right key beside it: %v, want it stored", errs[0])
		}
	}
	if _, ok := f.Get(t, good); !ok {
		t.Errorf("item with the right key not stored")
	}
}

func sinkOversizedItemIsUnwritable(t *testing.T, h SinkHarness) {
	f := h.New(t, pkOnly)
	good := map[string]string{"pk": "good"}
	errs := f.Sink.Put(context.Background(), []worker.Item{
		{Table: f.Table, Key: good, Attrs: map[string]any{"v": "x"}},
		{Table: f.Table, Key: map[string]string{"pk": "big"}, Attrs: map[string]any{"big": strings.Repeat("x", 500<<10)}},
	})
	if len(errs) != 2 {
		t.Fatalf("Put returned %d errors for 2 items", len(errs))
	}
	// Over the 400 KB item limit: this item can never be written, and it must not
	// take its neighbour down with it.
	if !worker.IsUnwritable(errs[1]) {
		t.Errorf("item over 400 KB: %v, want a *worker.UnwritableError", errs[1])
	}
	if errs[0] != nil {
		t.Errorf("item beside it: %v, want it stored", errs[0])
	}
	if _, ok := f.Get(t, good); !ok {
		t.Errorf("item beside the oversized one not stored")
	}
}

func sinkUnconvertibleItemIsUnwritable(t *testing.T, h SinkHarness) {
	f := h.New(t, pkOnly)
	good := map[string]string{"pk": "good"}
	errs := f.Sink.Put(context.Background(), []worker.Item{
		{Table: f.Table, Key: map[string]string{"pk": "nan"}, Attrs: map[string]any{"x": math.NaN()}},
		{Table: f.Table, Key: good, Attrs: map[string]any{"v": "x"}},
		{Table: f.Table, Key: map[string]string{"pk": "inf"}, Attrs: map[string]any{"l": []any{math.Inf(-1)}}},
		{Table: f.Table, Key: map[string]string{"pk": "bytes"}, Attrs: map[string]any{"m": map[string]any{"b": []byte("x")}}},
		{Table: f.Table, Key: map[string]string{}, Attrs: map[string]any{"v": "no key"}},
	})
	if len(errs) != 5 {
		t.Fatalf("Put returned %d errors for 5 items", len(errs))
	}
	// A value no store can hold, or an item without a key, is this item's problem,
	// not the deployment's: it must neither stop the worker nor fail its neighbours.
	for _, i := range []int{0, 2, 3, 4} {
		if !worker.IsUnwritable(errs[i]) {
			t.Errorf("item %d: %v, want a *worker.UnwritableError", i, errs[i])
		}
	}
	if errs[1] != nil {
		t.Errorf("item beside them: %v, want it stored", errs[1])
	}
	if _, ok := f.Get(t, good); !ok {
		t.Errorf("item beside the unconvertible ones not stored")
	}
}

func sinkMissingTableBesideExisting(t *testing.T, h SinkHarness) {
	f := h.New(t, pkOnly)
	if f.MissingTable == "" {
		t.Skip("no missing table")
	}
	key := map[string]string{"pk": "beside"}
	errs := f.Sink.Put(context.Background(), []worker.Item{
		{Table: f.Table, Key: key, Attrs: map[string]any{"v": "x"}},
		{Table: f.MissingTable, Key: map[string]string{"pk": "a"}, Attrs: map[string]any{}},
	})
	if len(errs) != 2 {
		t.Fatalf("Put returned %d errors for 2 items", len(errs))
	}
	if !worker.IsFatal(errs[1]) {
		t.Errorf("item for the missing table: %v, want a *worker.FatalError", errs[1])
	}
	// DynamoDB fails the whole call; a sink may split it per table. Either way the
	// item for the existing table is stored exactly when it is reported stored, and
	// never reported retryable (that would spend the message's attempts).
	_, stored := f.Get(t, key)
	switch {
	case errs[0] == nil && !stored:
		t.Errorf("item for the existing table reported stored, not stored")
	case errs[0] != nil && !worker.IsFatal(errs[0]):
		t.Errorf("item for the existing table: %v, want nil or a *worker.FatalError", errs[0])
	case errs[0] != nil && stored:
		t.Errorf("item for the existing table stored but reported %v", errs[0])
	}
}

func putOK(t *testing.T, f SinkFixture, items []worker.Item) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errs := f.Sink.Put(ctx, items)
	if len(errs) != len(items) {
		t.Fatalf("Put returned %d errors for %d items", len(errs), len(items))
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Put item %d: %v", i, err)
		}
	}
}

// Canonical rewrites an item value for comparison across implementations: numbers of
// any Go type become their exact rational value as a string ("201/2"), times become
// RFC 3339 strings in UTC with nanoseconds, and lists and maps are rewritten inside.
func Canonical(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = Canonical(x)
		}
		return m
	case []any:
		l := make([]any, len(v))
		for i, x := range v {
			l[i] = Canonical(x)
		}
		return l
	case json.Number:
		r, ok := new(big.Rat).SetString(string(v))
		if !ok {
			return "bad number " + string(v)
		}
		return "number " + r.RatString()
	case int64:
		return "number " + new(big.Rat).SetInt64(v).RatString()
	case int:
		return "number " + new(big.Rat).SetInt64(int64(v)).RatString()
	case float64:
		r, ok := new(big.Rat).SetString(fmt.Sprint(v))
		if !ok {
			return fmt.Sprint("bad number ", v)
		}
		return "number " + r.RatString()
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	}
	return v
}
