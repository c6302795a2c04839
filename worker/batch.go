package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// errClosed is reported to a value added to a batcher after Close.
var errClosed = errors.New("batcher closed")

// batcher collects values from many goroutines and flushes them in groups of at most
// max values, as soon as a group is full or linger after its first value at the latest.
// Up to parallel flushes run at once; with parallel 1 the groups are flushed one after
// the other in the order they were formed (a later visibility change of a receipt
// handle must never be overtaken by an earlier one). Every value's done func is called
// exactly once with that value's own result.
//
// When key is set, a value whose key is already waiting in the current group replaces
// the waiting one, and both callers get the result of the write: a group never holds
// two values for the same key (DynamoDB refuses such a BatchWriteItem, and two
// visibility changes of one receipt handle in one call have no defined order).
type batcher[T any] struct {
	max      int
	linger   time.Duration
	key      func(T) string
	flush    func(ctx context.Context, vals []T) []error
	flushCtx func() (context.Context, context.CancelFunc)
	sem      chan struct{}

	mu      sync.Mutex
	pending []*batchEntry[T]
	byKey   map[string]*batchEntry[T]
	gen     uint64        // bumped when a group leaves; stale linger timers see it
	last    chan struct{} // ordered: closed when the last group formed has been flushed
	timer   *time.Timer
	closed  bool
	wg      sync.WaitGroup
}

type batchEntry[T any] struct {
	val  T
	done []func(error)
}

func newBatcher[T any](max int, linger time.Duration, parallel int, key func(T) string,
	flushCtx func() (context.Context, context.CancelFunc),
	flush func(ctx context.Context, vals []T) []error) *batcher[T] {
	if max < 1 {
		max = 1
	}
	if parallel < 1 {
		parallel = 1
	}
	return &batcher[T]{
		max: max, linger: linger, key: key, flush: flush, flushCtx: flushCtx,
		sem: make(chan struct{}, parallel), byKey: map[string]*batchEntry[T]{},
	}
}

// Add queues v; done is called with its result once its group is flushed. Add never
// blocks on a flush.
func (b *batcher[T]) Add(v T, done func(error)) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		done(errClosed)
		return
	}
	if b.key != nil {
		k := b.key(v)
		if e, ok := b.byKey[k]; ok {
			e.val = v
			e.done = append(e.done, done)
			b.mu.Unlock()
			return
		}
		e := &batchEntry[T]{val: v, done: []func(error){done}}
		b.byKey[k] = e
		b.pending = append(b.pending, e)
	} else {
		b.pending = append(b.pending, &batchEntry[T]{val: v, done: []func(error){done}})
	}
	switch {
	case len(b.pending) >= b.max:
		b.dispatchLocked()
	case len(b.pending) == 1:
		gen := b.gen
		b.timer = time.AfterFunc(b.linger, func() {
			b.mu.Lock()
			if b.gen == gen && len(b.pending) > 0 {
				b.dispatchLocked()
			}
			b.mu.Unlock()
		})
	}
	b.mu.Unlock()
}

// dispatchLocked sends the waiting group to a flush goroutine. b.mu is held.
func (b *batcher[T]) dispatchLocked() {
	group := b.pending
	b.pending = nil
	if len(b.byKey) > 0 {
		b.byKey = map[string]*batchEntry[T]{}
	}
	b.gen++
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	b.wg.Add(1)
	var prev, mine chan struct{}
	if cap(b.sem) == 1 {
		prev, mine = b.last, make(chan struct{})
		b.last = mine
	}
	go func() {
		defer b.wg.Done()
		if mine != nil {
			// In order: after the group formed before this one.
			defer close(mine)
			if prev != nil {
				<-prev
			}
		} else {
			b.sem <- struct{}{}
			defer func() { <-b.sem }()
		}
		errs := b.safeFlush(group)
		for i, e := range group {
			for _, done := range e.done {
				done(errs[i])
			}
		}
	}()
}

// safeFlush calls flush and turns a panic, or a result of the wrong length, into one
// error per value.
func (b *batcher[T]) safeFlush(group []*batchEntry[T]) (errs []error) {
	vals := make([]T, len(group))
	for i, e := range group {
		vals[i] = e.val
	}
	ctx, cancel := b.flushCtx()
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			err := &panicError{value: r}
			errs = make([]error, len(group))
			for i := range errs {
				errs[i] = err
			}
		}
	}()
	errs = b.flush(ctx, vals)
	if len(errs) != len(vals) {
		err := fmt.Errorf("flush returned %d results for %d values", len(errs), len(vals))
		errs = make([]error, len(vals))
		for i := range errs {
			errs[i] = err
		}
	}
	return errs
}

// Close flushes what is waiting, refuses further values, and waits for every flush.
func (b *batcher[T]) Close() {
	b.mu.Lock()
	b.closed = true
	if len(b.pending) > 0 {
		b.dispatchLocked()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

// panicError is a recovered panic.
type panicError struct {
	value any
	stack string
}

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v", e.value) }
