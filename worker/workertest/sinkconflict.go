package workertest

import (
	"context"
	"errors"
	"testing"
	"time"

	"eventproc/worker"
)

// The conformance cases about payload hashes (worker.HashAttribute): the same event
// again is a silent success, another event under a stored key a *worker.ConflictError
// that leaves the stored item as it was.

// hashed is an item of key pk=k with payload hash h and attribute v.
func hashed(f SinkFixture, k, h, v string) worker.Item {
	return worker.Item{Table: f.Table, Key: map[string]string{"pk": k}, Attrs: map[string]any{worker.HashAttribute: h, "v": v}}
}

// wantStored fails unless key k holds the item of hash h and attribute v.
func wantStored(t *testing.T, f SinkFixture, k, h, v string) {
	t.Helper()
	got, ok := f.Get(t, map[string]string{"pk": k})
	if !ok || got[worker.HashAttribute] != h || got["v"] != v {
		t.Errorf("stored under %s: %v (%v), want hash %s and v %q", k, got, ok, h, v)
	}
}

// wantConflict fails unless err is a conflict of key k between existing and incoming.
func wantConflict(t *testing.T, f SinkFixture, err error, k, existing, incoming string) {
	t.Helper()
	var ce *worker.ConflictError
	if !errors.As(err, &ce) {
		t.Errorf("put of %s: %v, want a conflict", k, err)
		return
	}
	want := worker.ConflictError{Table: f.Table, Key: worker.KeyString(map[string]string{"pk": k}), Existing: existing, Incoming: incoming}
	if *ce != want {
		t.Errorf("conflict %+v, want %+v", *ce, want)
	}
}

func put(t *testing.T, f SinkFixture, items ...worker.Item) []error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errs := f.Sink.Put(ctx, items)
	if len(errs) != len(items) {
		t.Fatalf("Put returned %d errors for %d items", len(errs), len(items))
	}
	return errs
}

// sinkSameEventTwice: the same event (same hash) again is one item and no error; the
// stored item is not rewritten.
func sinkSameEventTwice(t *testing.T, h SinkHarness) {
	f := h.New(t, pkOnly)
	putOK(t, f, []worker.Item{hashed(f, "k", "h1", "first")})
	putOK(t, f, []worker.Item{hashed(f, "k", "h1", "second")})
	if n := f.Count(t); n != 1 {
		t.Errorf("Count = %d, want 1", n)
	}
	wantStored(t, f, "k", "h1", "first")
}

// sinkOtherEventConflicts: another event (another hash) under a stored key is a
// conflict with both hashes, and the stored item is kept.
func sinkOtherEventConflicts(t *testing.T, h SinkHarness) {
	f := h.New(t, pkOnly)
	putOK(t, f, []worker.Item{hashed(f, "k", "h1", "first")})
	errs := put(t, f, hashed(f, "k", "h2", "second"))
	wantConflict(t, f, errs[0], "k", "h1", "h2")
	wantStored(t, f, "k", "h1", "first")
}

// sinkMixedConflicts: one call of a new item, the same event again, a conflicting one,
// and two events of one new key: each gets its own result.
func sinkMixedConflicts(t *testing.T, h SinkHarness) {
	f := h.New(t, pkOnly)
	putOK(t, f, []worker.Item{hashed(f, "same", "h1", "old"), hashed(f, "conf", "h1", "old")})
	errs := put(t, f,
		hashed(f, "new", "h1", "new"),
		hashed(f, "same", "h1", "again"),
		hashed(f, "conf", "h2", "other"),
		hashed(f, "twice", "h3", "one"),
		hashed(f, "twice", "h4", "two"),
		hashed(f, "twice", "h3", "one again"),
	)
	for _, i := range []int{0, 1, 3, 5} {
		if errs[i] != nil {
			t.Errorf("item %d: %v", i, errs[i])
		}
	}
	wantConflict(t, f, errs[2], "conf", "h1", "h2")
	wantConflict(t, f, errs[4], "twice", "h3", "h4")
	wantStored(t, f, "new", "h1", "new")
	wantStored(t, f, "same", "h1", "old")
	wantStored(t, f, "conf", "h1", "old")
	if got, _ := f.Get(t, map[string]string{"pk": "twice"}); got[worker.HashAttribute] != "h3" {
		t.Errorf("twice: %v, want hash h3", got)
	}
	if n := f.Count(t); n != 4 {
		t.Errorf("Count = %d, want 4", n)
	}
}

// sinkUnhashedStoredItem: an item stored without a hash (before hashes were stored)
// conflicts with nothing: upsert replaces it, first-write-wins keeps it.
func sinkUnhashedStoredItem(t *testing.T, h SinkHarness) {
	f := h.New(t, pkOnly)
	putOK(t, f, []worker.Item{{Table: f.Table, Key: map[string]string{"pk": "k"}, Attrs: map[string]any{"v": "old"}}})
	putOK(t, f, []worker.Item{hashed(f, "k", "h1", "new")})
	got, _ := f.Get(t, map[string]string{"pk": "k"})
	if want := map[bool]string{false: "new", true: "old"}[h.FirstWriteWins]; got["v"] != want {
		t.Errorf("stored %v, want v %q", got, want)
	}
}
