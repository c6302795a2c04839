package dynamotable

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"eventproc/backoff"
	"eventproc/worker"
)

// Mode is how Table writes an item whose key may already be stored.
type Mode int

const (
	// BatchUpsert writes with BatchWriteItem, 25 items a call, after one consistent
	// BatchGetItem of their keys' payload hashes: a key stored with the item's hash is
	// not written again, one stored with another hash is a conflict. The default. Within
	// one Table, the Put calls holding a key take turns from read to write (keylock.go);
	// two workers (processes) writing one key at the same instant both pass the read,
	// and the last write wins.
	BatchUpsert Mode = iota
	// ConditionalPut writes each item with PutItem on condition that its key is not
	// stored yet: the first write wins; a failed condition reads the stored hash
	// (returned with the failure, else by GetItem) to tell the same event from a
	// conflict. No window: the condition is checked by DynamoDB.
	ConditionalPut
)

func (m Mode) String() string {
	switch m {
	case BatchUpsert:
		return "batch-upsert"
	case ConditionalPut:
		return "conditional-put"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Options configures a Table. The zero value gives the defaults.
type Options struct {
	Mode Mode
	// CallTimeout bounds every call (10 s when zero).
	CallTimeout time.Duration
	// UnprocessedRetries is how many times a batch's UnprocessedItems are sent again
	// before they fail as retryable (8 when zero), after a backoff that starts at
	// 20 ms and doubles up to 500 ms.
	UnprocessedRetries int
	// PutConcurrency is how many PutItem calls ConditionalPut makes at once (10 when zero).
	PutConcurrency int
}

const (
	maxBatchWrite      = 25
	defaultCallTimeout = 10 * time.Second
)

// unprocessedBackoff is the pause before UnprocessedItems are sent again: 20 ms,
// doubling up to 500 ms.
var unprocessedBackoff = backoff.Policy{Initial: 20 * time.Millisecond, Multiplier: 2, Max: 500 * time.Millisecond}

// Table writes worker items to DynamoDB. Safe for concurrent use.
type Table struct {
	api   API
	opts  Options
	locks keyLocks // BatchUpsert's keys being read and written (keylock.go)
}

var _ worker.Sink = (*Table)(nil)

// New returns a Table.
func New(api API, opts Options) *Table {
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = defaultCallTimeout
	}
	if opts.UnprocessedRetries <= 0 {
		opts.UnprocessedRetries = 8
	}
	if opts.PutConcurrency <= 0 {
		opts.PutConcurrency = 10
	}
	return &Table{api: api, opts: opts}
}

// Put stores items and returns one error per item (nil, *worker.RetryableError,
// *worker.FatalError, *worker.ConflictError or, for an item DynamoDB refuses as it is,
// *worker.UnwritableError). Items of one call may go to different tables. Two items
// with the same table, key and payload hash in one call are written once: the last of
// them (BatchUpsert) or the first (ConditionalPut), and both get its result; an item
// with the key of an earlier one and another hash is put after it, and conflicts.
func (t *Table) Put(ctx context.Context, items []worker.Item) []error {
	later := laterRound(items)
	if later == nil {
		return t.putRound(ctx, items)
	}
	var first, rest []int
	for i := range items {
		if later[i] {
			rest = append(rest, i)
		} else {
			first = append(first, i)
		}
	}
	errs := make([]error, len(items))
	for _, round := range [][]int{first, rest} {
		sub := make([]worker.Item, len(round))
		for j, i := range round {
			sub[j] = items[i]
		}
		for j, err := range t.Put(ctx, sub) {
			errs[round[j]] = err
		}
	}
	return errs
}

// putRound is Put of items in which no two of one key have different hashes.
func (t *Table) putRound(ctx context.Context, items []worker.Item) []error {
	errs := make([]error, len(items))
	if len(items) == 0 {
		return errs
	}
	// One write per table and key; same[i] is the index of the item written for item i.
	same := make([]int, len(items))
	seen := make(map[string]int, len(items))
	var writes []int
	for i, it := range items {
		k := itemKey(it)
		j, dup := seen[k]
		switch {
		case !dup:
			seen[k] = i
			writes = append(writes, i)
			same[i] = i
		case t.opts.Mode == BatchUpsert: // the last one wins
			seen[k] = i
			writes[slices.Index(writes, j)] = i
			same[i] = i
		default: // the first one wins
			same[i] = j
		}
	}
	if t.opts.Mode == BatchUpsert {
		for i := range same { // earlier duplicates follow the last one
			same[i] = seen[itemKey(items[i])]
		}
	}
	// Convert.
	avs := make(map[int]map[string]types.AttributeValue, len(writes))
	var ok []int
	for _, i := range writes {
		av, err := itemAttributes(items[i])
		if err != nil {
			// A value the adapter cannot write (NaN, bytes), or no key: this item can
			// never be written, but nothing is wrong with the deployment.
			errs[i] = &worker.UnwritableError{Err: fmt.Errorf("put item %s in %s: %w", worker.KeyString(items[i].Key), items[i].Table, err)}
			continue
		}
		avs[i] = av
		ok = append(ok, i)
	}
	if t.opts.Mode == ConditionalPut {
		t.putEach(ctx, items, ok, avs, errs)
	} else {
		for start := 0; start < len(ok); start += maxBatchWrite {
			t.upsert(ctx, items, ok[start:min(start+maxBatchWrite, len(ok))], avs, errs)
		}
	}
	for i := range errs {
		errs[i] = errs[same[i]]
	}
	return errs
}

// upsert writes the items of idx (at most 25, of distinct keys) that are not stored
// yet, holding their keys (keyLocks) from the read of their stored hashes to the end of
// the write.
func (t *Table) upsert(ctx context.Context, items []worker.Item, idx []int, avs map[int]map[string]types.AttributeValue, errs []error) {
	keys := make([]string, len(idx))
	for j, i := range idx {
		keys[j] = itemKey(items[i])
	}
	unlock, err := t.locks.lock(ctx, keys)
	if err != nil {
		err = classify(fmt.Errorf("wait for a write of the same key: %w", err))
		for _, i := range idx {
			errs[i] = err
		}
		return
	}
	defer unlock()
	if chunk := t.unstored(ctx, items, idx, errs); len(chunk) > 0 {
		t.batchWrite(ctx, items, chunk, avs, errs)
	}
}

// unstored returns the items of idx to write: it reads the payload hashes stored
// under their keys, and leaves out (with errs set) those stored with the same hash
// (nil), with another (*worker.ConflictError), or whose read failed.
func (t *Table) unstored(ctx context.Context, items []worker.Item, idx []int, errs []error) []int {
	stored := t.storedHashes(ctx, items, idx, errs)
	var out []int
	for _, i := range idx {
		if errs[i] != nil {
			continue
		}
		s := stored[i]
		write, err := compare(items[i], s.hash, s.found)
		errs[i] = err
		if write {
			out = append(out, i)
		}
	}
	return out
}

// itemAttributes converts an item's key and attributes; the key wins a name clash.
func itemAttributes(it worker.Item) (map[string]types.AttributeValue, error) {
	if len(it.Key) == 0 {
		return nil, errors.New("item has no key")
	}
	av, err := attributeMap(it.Attrs)
	if err != nil {
		return nil, err
	}
	for k, v := range it.Key {
		av[k] = &types.AttributeValueMemberS{Value: v}
	}
	return av, nil
}

// batchWrite writes up to 25 items with BatchWriteItem, sending UnprocessedItems again.
func (t *Table) batchWrite(ctx context.Context, items []worker.Item, idx []int, avs map[int]map[string]types.AttributeValue, errs []error) {
	// Unprocessed items come back as their attribute maps: find them by table and key.
	byKey := make(map[string]int, len(idx))
	req := make(map[string][]types.WriteRequest)
	for _, i := range idx {
		it := items[i]
		byKey[itemKey(it)] = i
		req[it.Table] = append(req[it.Table], types.WriteRequest{PutRequest: &types.PutRequest{Item: avs[i]}})
	}
	for attempt := 0; ; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, t.opts.CallTimeout)
		out, err := t.api.BatchWriteItem(cctx, &dynamodb.BatchWriteItemInput{RequestItems: req})
		cancel()
		if err != nil {
			t.batchWriteFailed(ctx, items, req, byKey, avs, errs, err)
			return
		}
		if len(out.UnprocessedItems) == 0 {
			return
		}
		req = out.UnprocessedItems
		if attempt >= t.opts.UnprocessedRetries {
			err := &worker.RetryableError{Err: fmt.Errorf("batch write: %d items still unprocessed after %d retries", countRequests(req), attempt)}
			failPending(req, byKey, items, errs, err)
			return
		}
		select {
		case <-ctx.Done():
			failPending(req, byKey, items, errs, classify(fmt.Errorf("batch write: %w", ctx.Err())))
			return
		case <-time.After(unprocessedBackoff.Delay(attempt+1, 0)):
		}
	}
}

// batchWriteFailed handles a BatchWriteItem call of req that failed with err: a call
// that one missing table or one refused item failed is split and written again, else
// err is every pending item's error.
func (t *Table) batchWriteFailed(ctx context.Context, items []worker.Item, req map[string][]types.WriteRequest, byKey map[string]int, avs map[int]map[string]types.AttributeValue, errs []error, err error) {
	if len(req) > 1 && isCode(err, "ResourceNotFoundException") {
		// One missing table fails the whole call, the items for the tables that
		// exist included: write each table's items on their own, so that only
		// the missing table's fail.
		for _, table := range slices.Sorted(maps.Keys(req)) {
			sub := pendingIndexes(map[string][]types.WriteRequest{table: req[table]}, byKey, items)
			t.batchWrite(ctx, items, sub, avs, errs)
		}
		return
	}
	if pending := pendingIndexes(req, byKey, items); len(pending) > 1 && isValidation(err) {
		// One item DynamoDB refuses (over 400 KB, a number out of range, nested
		// too deeply) fails the whole call: write each on its own, so that only
		// the bad ones fail and their neighbours are stored.
		for _, r := range pending {
			t.batchWrite(ctx, items, []int{r}, avs, errs)
		}
		return
	}
	// A ValidationException of a call of several items was split above: here
	// it is about this one item.
	err = classifyItem(fmt.Errorf("batch write %d items to %s: %w", countRequests(req), strings.Join(slices.Sorted(maps.Keys(req)), ", "), err))
	failPending(req, byKey, items, errs, err)
}

// failPending sets err as the error of every item still pending in req.
func failPending(req map[string][]types.WriteRequest, byKey map[string]int, items []worker.Item, errs []error, err error) {
	for _, r := range pendingIndexes(req, byKey, items) {
		errs[r] = err
	}
}

// isValidation reports whether DynamoDB refused a request as invalid
// (ValidationException): something in it, not the service, is at fault.
func isValidation(err error) bool { return isCode(err, "ValidationException") }

// isCode reports whether err is an API error with the given code.
func isCode(err error, code string) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == code
}

func countRequests(req map[string][]types.WriteRequest) int {
	n := 0
	for _, rs := range req {
		n += len(rs)
	}
	return n
}

// pendingIndexes maps the put requests of req back to item indexes.
func pendingIndexes(req map[string][]types.WriteRequest, byKey map[string]int, items []worker.Item) []int {
	var out []int
	for table, rs := range req {
		for _, r := range rs {
			if r.PutRequest == nil {
				continue
			}
			for k, i := range byKey {
				if !strings.HasPrefix(k, table+"\x00") {
					continue
				}
				if keyMatches(items[i].Key, r.PutRequest.Item) {
					out = append(out, i)
					break
				}
			}
		}
	}
	return out
}

func keyMatches(key map[string]string, av map[string]types.AttributeValue) bool {
	for k, v := range key {
		s, ok := av[k].(*types.AttributeValueMemberS)
		if !ok || s.Value != v {
			return false
		}
	}
	return true
}

// putEach writes each item with a conditional PutItem, PutConcurrency at a time.
func (t *Table) putEach(ctx context.Context, items []worker.Item, idx []int, avs map[int]map[string]types.AttributeValue, errs []error) {
	sem := make(chan struct{}, t.opts.PutConcurrency)
	var wg sync.WaitGroup
	for _, i := range idx {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = t.putIfAbsent(ctx, items[i], avs[i])
		})
	}
	wg.Wait()
}

func (t *Table) putIfAbsent(ctx context.Context, it worker.Item, av map[string]types.AttributeValue) error {
	// Any key attribute will do: a stored item with this key has all of them.
	name := slices.Sorted(maps.Keys(it.Key))[0]
	cctx, cancel := context.WithTimeout(ctx, t.opts.CallTimeout)
	defer cancel()
	_, err := t.api.PutItem(cctx, &dynamodb.PutItemInput{
		TableName:                           aws.String(it.Table),
		Item:                                av,
		ConditionExpression:                 aws.String("attribute_not_exists(#k)"),
		ExpressionAttributeNames:            map[string]string{"#k": name},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var exists *types.ConditionalCheckFailedException
	if errors.As(err, &exists) {
		return t.conditionFailed(ctx, it, exists) // stored before: first write wins
	}
	if err != nil {
		return classifyItem(fmt.Errorf("put item %s in %s: %w", worker.KeyString(it.Key), it.Table, err))
	}
	return nil
}

// itemKey names an item's table and key: items with the same one write one item.
// byKey maps rely on its table prefix ending at the first "\x00".
func itemKey(it worker.Item) string { return it.Table + "\x00" + worker.KeyString(it.Key) }
