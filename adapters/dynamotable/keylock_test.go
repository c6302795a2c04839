package dynamotable

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"eventproc/adapters/awstest"
	"eventproc/worker"
)

// TestConcurrentConflictingPuts: against dynalite, many Put calls of one Table at once,
// each of one item under the same key with its own payload hash (the worker's
// PutParallel calls, two producers reusing a key): exactly one succeeds and is the
// stored item; every other is a *worker.ConflictError naming the stored hash. Without
// keyLocks, several read the key absent and the last write silently wins.
func TestConcurrentConflictingPuts(t *testing.T) {
	e := awstest.Shared(t)
	c := e.DynamoDBClient()
	name := e.CreateTable(t, "race", "pk")
	tbl := New(c, Options{})
	const rounds, writers = 5, 16
	for r := range rounds {
		key := fmt.Sprint("k", r)
		errs := make([]error, writers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				<-start
				it := worker.Item{Table: name, Key: map[string]string{"pk": key},
					Attrs: map[string]any{worker.HashAttribute: fmt.Sprint("h", w), "writer": int64(w)}}
				errs[w] = tbl.Put(context.Background(), []worker.Item{it})[0]
			})
		}
		close(start)
		wg.Wait()
		winner, conflicts := -1, 0
		for w, err := range errs {
			var ce *worker.ConflictError
			switch {
			case err == nil && winner >= 0:
				t.Errorf("round %d: writers %d and %d both succeeded", r, winner, w)
			case err == nil:
				winner = w
			case errors.As(err, &ce):
				conflicts++
			default:
				t.Errorf("round %d: writer %d: %v, want nil or a conflict", r, w, err)
			}
		}
		if winner < 0 || conflicts != writers-1 {
			t.Fatalf("round %d: winner %d, %d conflicts; want one winner and %d conflicts", r, winner, conflicts, writers-1)
		}
		want := fmt.Sprint("h", winner)
		for w, err := range errs {
			var ce *worker.ConflictError
			if errors.As(err, &ce) && (ce.Existing != want || ce.Incoming != fmt.Sprint("h", w)) {
				t.Errorf("round %d: writer %d: %v; want existing %s", r, w, ce, want)
			}
		}
		out, err := c.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(name),
			Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: key}}, ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		if got := Values(out.Item); got[worker.HashAttribute] != want {
			t.Errorf("round %d: stored %v; want the winner's (%s)", r, got, want)
		}
	}
}

// TestKeyLocksOrder: chunks of overlapping keys, given in any order, never deadlock and
// never hold one key at once.
func TestKeyLocksOrder(t *testing.T) {
	var l keyLocks
	var mu sync.Mutex
	holders := map[string]int{}
	sets := [][]string{{"a", "b", "c"}, {"c", "b"}, {"b", "a"}, {"c", "a"}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for n := range 200 {
					keys := sets[(g+n)%len(sets)]
					unlock, err := l.lock(context.Background(), keys)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					for _, k := range keys {
						if holders[k]++; holders[k] > 1 {
							t.Errorf("key %s held twice", k)
						}
					}
					mu.Unlock()
					mu.Lock()
					for _, k := range keys {
						holders[k]--
					}
					mu.Unlock()
					unlock()
				}
			})
		}
		wg.Wait()
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("deadlock")
	}
	if len(l.held) != 0 {
		t.Errorf("held after all released: %v", l.held)
	}
}

// TestKeyLocksCancel: a lock whose context ends while it waits returns the context's
// error and releases the keys it took; Put fails the chunk's items as retryable.
func TestKeyLocksCancel(t *testing.T) {
	var l keyLocks
	unlockB, err := l.lock(context.Background(), []string{"b"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := l.lock(ctx, []string{"c", "b", "a"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("lock while b is held = %v, want the deadline", err)
	}
	if len(l.held) != 1 {
		t.Fatalf("held %v, want only b", l.held)
	}
	unlockB()

	tbl := New(&hashAPI{stored: map[string]string{}}, Options{})
	unlock, err := tbl.locks.lock(context.Background(), []string{itemKey(hashedItem("x", "h1"))})
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	errs := tbl.Put(ctx, []worker.Item{hashedItem("x", "h1"), hashedItem("y", "h1")})
	var re *worker.RetryableError
	if !errors.As(errs[0], &re) || !errors.As(errs[1], &re) || !strings.Contains(errs[0].Error(), "wait for a write of the same key") {
		t.Errorf("Put while its key is held past its deadline = %v, want retryable errors", errs)
	}
}
