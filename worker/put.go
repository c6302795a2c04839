package worker

import (
	"context"
	"errors"
	"runtime/debug"
	"sync"
)

// putBatch calls Sink.Put. When Put panics (a bug in the sink, or a value it chokes
// on), it puts every item again on its own, at once, so that only the item that makes
// the sink panic fails (with the panic) and the items beside it are stored.
func putBatch(ctx context.Context, sink Sink, items []Item) []error {
	errs, pe := safePut(ctx, sink, items)
	if pe == nil {
		return errs
	}
	errs = make([]error, len(items))
	if len(items) == 1 {
		errs[0] = pe
		return errs
	}
	var wg sync.WaitGroup
	for i := range items {
		wg.Go(func() {
			one, pe := safePut(ctx, sink, items[i:i+1])
			switch {
			case pe != nil:
				errs[i] = pe
			case len(one) == 1:
				errs[i] = one[0]
			default:
				errs[i] = &RetryableError{Err: errBadResults}
			}
		})
	}
	wg.Wait()
	return errs
}

var errBadResults = errors.New("sink returned the wrong number of results")

// safePut calls Sink.Put and recovers a panic.
func safePut(ctx context.Context, sink Sink, items []Item) (errs []error, pe *panicError) {
	defer func() {
		if r := recover(); r != nil {
			pe = &panicError{value: r, stack: string(debug.Stack())}
		}
	}()
	return sink.Put(ctx, items), nil
}
