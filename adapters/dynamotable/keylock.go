package dynamotable

import (
	"context"
	"slices"
	"sync"
)

// BatchUpsert reads a chunk's stored hashes, then writes the chunk: two Put calls of one
// Table holding one key with different hashes (the worker makes up to PutParallel at
// once) could both read it absent and both write it, the last silently replacing the
// first. keyLocks closes that window inside one process: a chunk holds its keys from
// its read to the end of its write, so the second chunk reads what the first wrote.
//
// The locks are per key, not striped: a chunk holds 25 keys, so with 256 stripes two
// chunks of unrelated keys would share one nine times in ten, and the writes of a
// process would run one chunk at a time. Per key, only chunks with a key in common wait
// for each other, which happens when two events share a key (a redelivery, a conflict).

// keyLocks is a set of held keys. Safe for concurrent use; the zero value is ready.
type keyLocks struct {
	mu   sync.Mutex
	held map[string]chan struct{} // closed when the key is released
}

// lock takes keys (distinct), in ascending order so that two chunks waiting for each
// other's keys cannot both hold one the other waits for, and returns the function that
// releases them. It blocks while another holds one of them; when ctx ends first it
// releases those it took and returns ctx's error.
func (l *keyLocks) lock(ctx context.Context, keys []string) (unlock func(), err error) {
	keys = slices.Sorted(slices.Values(keys))
	taken := 0
	for taken < len(keys) {
		wait := l.take(keys, &taken)
		if wait == nil {
			break
		}
		select {
		case <-wait:
		case <-ctx.Done():
			l.release(keys[:taken])
			return nil, ctx.Err()
		}
	}
	return func() { l.release(keys) }, nil
}

// take takes keys[*taken:] in order, up to the first one another holds, whose release
// channel it returns (nil when it took them all).
func (l *keyLocks) take(keys []string, taken *int) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held == nil {
		l.held = make(map[string]chan struct{})
	}
	for ; *taken < len(keys); *taken++ {
		k := keys[*taken]
		if wait, busy := l.held[k]; busy {
			return wait
		}
		l.held[k] = make(chan struct{})
	}
	return nil
}

// release gives keys back and wakes whoever waits for them.
func (l *keyLocks) release(keys []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		close(l.held[k])
		delete(l.held, k)
	}
}
