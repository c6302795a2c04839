package workertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"eventproc/limits"
	"eventproc/worker"
)

// Table is an in-memory DynamoDB: a worker.Sink that stores items by table and key.
// Create it with NewTable; safe for concurrent use.
type Table struct {
	firstWriteWins bool
	faults         faults

	mu      sync.Mutex
	schemas map[string][]string // declared tables and their key attributes; nil: any table
	items   map[string]map[string]worker.Item
	calls   int
	written int // item writes that changed the store
	dupes   int // writes of a key that was already stored
	lookups int
	itemErr func(worker.Item) error
}

// TableMode chooses how Table handles a key that is already stored by an item without
// a payload hash (worker.Item.PayloadHash), or with an item without one. When both have
// one, either mode behaves as dynamotable does: the same hash is success without a
// write, another one a *worker.ConflictError and the stored item kept.
type TableMode int

const (
	// Upsert overwrites the stored item (the default, as BatchWriteItem does).
	Upsert TableMode = iota
	// FirstWriteWins keeps the stored item and reports success (a conditional put).
	FirstWriteWins
)

var (
	_ worker.Sink   = (*Table)(nil)
	_ worker.Looker = (*Table)(nil)
)

// NewTable returns an empty store that accepts items for any table.
func NewTable(mode TableMode) *Table {
	return &Table{firstWriteWins: mode == FirstWriteWins, items: make(map[string]map[string]worker.Item)}
}

// Declare makes the store strict: only declared tables exist, and an item's key must
// hold exactly the declared key attributes. A Put naming another table fails every item
// of the call with a *worker.FatalError, as one BatchWriteItem naming a missing DynamoDB
// table fails whole (an adapter may split such a call per table; this fake does not, so
// the worker is tested against the worst case).
func (t *Table) Declare(table string, key ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.schemas == nil {
		t.schemas = make(map[string][]string)
	}
	t.schemas[table] = slices.Clone(key)
}

// Drop removes a declared table and its items: later writes to it fail as fatal.
func (t *Table) Drop(table string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.schemas == nil {
		t.schemas = make(map[string][]string)
	}
	delete(t.schemas, table)
	delete(t.items, table)
}

// FailCalls makes the next times Put calls fail every item with err (times 0: every call
// until ClearFaults).
func (t *Table) FailCalls(err error, times int) { t.faults.failCalls(OpPut, err, times) }

// FailItems makes Put fail each item for which f returns an error, with that error,
// until ClearFaults.
func (t *Table) FailItems(f func(worker.Item) error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.itemErr = f
}

// ClearFaults removes every injected failure.
func (t *Table) ClearFaults() {
	t.faults.clear()
	t.mu.Lock()
	t.itemErr = nil
	t.mu.Unlock()
}

// Put stores items, one error per item.
func (t *Table) Put(ctx context.Context, items []worker.Item) []error {
	errs := make([]error, len(items))
	t.mu.Lock()
	t.calls++
	itemErr := t.itemErr
	t.mu.Unlock()
	if err := t.faults.call(OpPut); err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	if err := ctx.Err(); err != nil {
		for i := range errs {
			errs[i] = &worker.RetryableError{Err: err}
		}
		return errs
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.schemas != nil {
		// DynamoDB refuses a whole BatchWriteItem that names a missing table
		// (ResourceNotFoundException), the items for existing tables included.
		for _, it := range items {
			if _, ok := t.schemas[it.Table]; !ok {
				err := &worker.FatalError{Err: fmt.Errorf("put items: table %q does not exist", it.Table)}
				for i := range errs {
					errs[i] = err
				}
				return errs
			}
		}
	}
	for i, it := range items {
		if itemErr != nil {
			if err := itemErr(it); err != nil {
				errs[i] = err
				continue
			}
		}
		if err := checkItem(it); err != nil {
			errs[i] = &worker.UnwritableError{Err: fmt.Errorf("put item: %w", err)}
			continue
		}
		if n := ItemSize(it); n > limits.ItemBytes {
			errs[i] = &worker.UnwritableError{Err: fmt.Errorf("put item: item size %d has exceeded the maximum allowed size", n)}
			continue
		}
		if t.schemas != nil {
			key, ok := t.schemas[it.Table]
			if !ok {
				errs[i] = &worker.FatalError{Err: fmt.Errorf("put item: table %q does not exist", it.Table)}
				continue
			}
			if !sameKeys(key, it.Key) {
				errs[i] = &worker.FatalError{Err: fmt.Errorf("put item: key %v does not match the key schema %v of table %q", slices.Sorted(maps.Keys(it.Key)), key, it.Table)}
				continue
			}
		}
		tbl := t.items[it.Table]
		if tbl == nil {
			tbl = make(map[string]worker.Item)
			t.items[it.Table] = tbl
		}
		k := worker.KeyString(it.Key)
		if old, ok := tbl[k]; ok {
			t.dupes++
			if old.PayloadHash() != "" && it.PayloadHash() != "" {
				// As dynamotable does in either mode: the same event is stored
				// already, another one conflicts; the stored item is kept.
				if old.PayloadHash() != it.PayloadHash() {
					errs[i] = &worker.ConflictError{Table: it.Table, Key: k, Existing: old.PayloadHash(), Incoming: it.PayloadHash()}
				}
				continue
			}
			if t.firstWriteWins {
				continue
			}
		}
		tbl[k] = cloneItem(it)
		t.written++
	}
	return errs
}

// checkItem refuses what a DynamoDB sink cannot convert: an item without a key, a
// number that is not finite, a value of another type than worker.Item lists (and the
// few more that dynamotable takes).
func checkItem(it worker.Item) error {
	if len(it.Key) == 0 {
		return errors.New("item has no key")
	}
	for k, v := range it.Attrs {
		if err := checkValue(v); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	return nil
}

func checkValue(v any) error {
	switch v := v.(type) {
	case nil, string, bool, int, int32, int64, uint64, json.Number, time.Time, []string, map[string]string:
		return nil
	case float32:
		return checkValue(float64(v))
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("number %v is not finite", v)
		}
		return nil
	case []any:
		for i, x := range v {
			if err := checkValue(x); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return nil
	case map[string]any:
		for k, x := range v {
			if err := checkValue(x); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
		return nil
	}
	return fmt.Errorf("unsupported value of type %T", v)
}

// ItemSize estimates an item's size as DynamoDB counts it: attribute names and values
// in UTF-8 bytes, a number at most 21 bytes, 1 byte for a boolean or null, 3 bytes and
// 1 per element for a list or map.
func ItemSize(it worker.Item) int {
	n := 0
	for k, v := range it.Key {
		n += len(k) + len(v)
	}
	for k, v := range it.Attrs {
		n += len(k) + valueSize(v)
	}
	return n
}

func valueSize(v any) int {
	switch v := v.(type) {
	case string:
		return len(v)
	case time.Time:
		return len(v.UTC().Format(time.RFC3339Nano))
	case bool, nil:
		return 1
	case []any:
		n := 3
		for _, x := range v {
			n += 1 + valueSize(x)
		}
		return n
	case map[string]any:
		n := 3
		for k, x := range v {
			n += 1 + len(k) + valueSize(x)
		}
		return n
	}
	return 21 // a number
}

func sameKeys(want []string, key map[string]string) bool {
	if len(want) != len(key) {
		return false
	}
	for _, k := range want {
		if _, ok := key[k]; !ok {
			return false
		}
	}
	return true
}

// Get returns the item stored under key in table.
func (t *Table) Get(table string, key map[string]string) (worker.Item, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	it, ok := t.items[table][worker.KeyString(key)]
	return cloneItem(it), ok
}

// Lookup returns the payload hash of the item stored under key in table, and whether
// there is one (worker.Looker). Failures injected with FailLookups are returned first.
func (t *Table) Lookup(ctx context.Context, table string, key map[string]string) (string, bool, error) {
	if err := t.faults.call(OpLookup); err != nil {
		return "", false, err
	}
	if err := ctx.Err(); err != nil {
		return "", false, &worker.RetryableError{Err: err}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lookups++
	it, ok := t.items[table][worker.KeyString(key)]
	if !ok {
		return "", false, nil
	}
	hash, _ := it.Attrs[worker.HashAttribute].(string)
	return hash, true, nil
}

// FailLookups makes the next times Lookup calls fail with err (times 0: every call until
// ClearFaults).
func (t *Table) FailLookups(err error, times int) { t.faults.failCalls(OpLookup, err, times) }

// Items returns a table's items sorted by key.
func (t *Table) Items(table string) []worker.Item {
	t.mu.Lock()
	defer t.mu.Unlock()
	keys := slices.Collect(maps.Keys(t.items[table]))
	sort.Strings(keys)
	out := make([]worker.Item, len(keys))
	for i, k := range keys {
		out[i] = cloneItem(t.items[table][k])
	}
	return out
}

// Len returns how many items a table holds.
func (t *Table) Len(table string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.items[table])
}

// TableStats counts what Put did.
type TableStats struct {
	Calls      int // Put calls
	Writes     int // items written (new or overwritten)
	Duplicates int // items whose key was already stored (overwritten or, first-write-wins, kept)
	Lookups    int // Lookup calls answered
}

// Stats returns the store's counts.
func (t *Table) Stats() TableStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return TableStats{Calls: t.calls, Writes: t.written, Duplicates: t.dupes, Lookups: t.lookups}
}

func cloneItem(it worker.Item) worker.Item {
	it.Key = maps.Clone(it.Key)
	it.Attrs = cloneValue(it.Attrs).(map[string]any)
	return it
}

func cloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if v == nil {
			return map[string]any(nil)
		}
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = cloneValue(x)
		}
		return m
	case []any:
		if v == nil {
			return []any(nil)
		}
		l := make([]any, len(v))
		for i, x := range v {
			l[i] = cloneValue(x)
		}
		return l
	}
	return v
}
