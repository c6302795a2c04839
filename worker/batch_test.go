package worker

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func bgCtx() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }

func TestBatcherGroupsAndLinger(t *testing.T) {
	var mu sync.Mutex
	var groups [][]int
	b := newBatcher(10, 30*time.Millisecond, 2, nil, bgCtx, func(_ context.Context, vs []int) []error {
		mu.Lock()
		groups = append(groups, append([]int(nil), vs...))
		mu.Unlock()
		errs := make([]error, len(vs))
		for i, v := range vs {
			if v%7 == 0 {
				errs[i] = fmt.Errorf("bad %d", v)
			}
		}
		return errs
	})
	var wg sync.WaitGroup
	var failed atomic.Int32
	start := time.Now()
	for i := range 25 {
		wg.Add(1)
		b.Add(i, func(err error) {
			if err != nil {
				if err.Error() != fmt.Sprintf("bad %d", i) {
					t.Errorf("value %d got %v", i, err)
				}
				failed.Add(1)
			}
			wg.Done()
		})
	}
	wg.Wait()
	took := time.Since(start)
	// Two flushes may run at once, so the groups may be recorded in either order.
	sort.Slice(groups, func(i, j int) bool { return groups[i][0] < groups[j][0] })
	if len(groups) != 3 || len(groups[0]) != 10 || len(groups[1]) != 10 || len(groups[2]) != 5 {
		t.Errorf("groups = %v, want 10+10+5", groups)
	}
	if failed.Load() != 4 { // 0, 7, 14, 21
		t.Errorf("%d failures, want 4", failed.Load())
	}
	if took < 25*time.Millisecond {
		t.Errorf("the partial group left after %v, before its linger", took)
	}
	b.Close()
	done := make(chan error, 1)
	b.Add(1, func(err error) { done <- err })
	if err := <-done; !errors.Is(err, errClosed) {
		t.Errorf("Add after Close: %v", err)
	}
}

func TestBatcherCoalescesKeys(t *testing.T) {
	type kv struct{ k, v string }
	var got [][]kv
	b := newBatcher(10, 20*time.Millisecond, 1, func(x kv) string { return x.k }, bgCtx,
		func(_ context.Context, vs []kv) []error {
			got = append(got, vs)
			return make([]error, len(vs))
		})
	var wg sync.WaitGroup
	for _, x := range []kv{{"a", "1"}, {"b", "1"}, {"a", "2"}} {
		wg.Add(1)
		b.Add(x, func(err error) { wg.Done() })
	}
	wg.Wait()
	b.Close()
	if len(got) != 1 || len(got[0]) != 2 || got[0][0] != (kv{"a", "2"}) || got[0][1] != (kv{"b", "1"}) {
		t.Errorf("flushed %v, want one group [a=2 b=1]", got)
	}
}

func TestBatcherRecoversPanic(t *testing.T) {
	b := newBatcher(1, time.Millisecond, 1, nil, bgCtx, func(_ context.Context, vs []int) []error { panic("nil map") })
	done := make(chan error, 1)
	b.Add(1, func(err error) { done <- err })
	var pe *panicError
	if err := <-done; !errors.As(err, &pe) {
		t.Errorf("err = %v, want a panicError", err)
	}
	b.Close()
}

// TestBatcherOrdered: with one flush at a time, groups leave in the order they were
// formed, so a later visibility change of a message is never overtaken by an earlier one.
func TestBatcherOrdered(t *testing.T) {
	var mu sync.Mutex
	var got []int
	b := newBatcher(2, time.Millisecond, 1, func(v int) string { return fmt.Sprint(v) }, bgCtx,
		func(_ context.Context, vs []int) []error {
			mu.Lock()
			got = append(got, vs...)
			mu.Unlock()
			time.Sleep(50 * time.Microsecond)
			return make([]error, len(vs))
		})
	const n = 400
	for i := range n {
		b.Add(i, func(error) {})
	}
	b.Close()
	if len(got) != n {
		t.Fatalf("%d values flushed, want %d", len(got), n)
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("flushed out of order: value %d at position %d (%v…)", v, i, got[max(0, i-3):min(n, i+3)])
		}
	}
}
