package dynamotable

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"eventproc/worker"
)

// Payload conflicts: a key already stored with another event's payload hash
// (worker.HashAttribute) is not written again; its item fails with a
// *worker.ConflictError. Only an item with a hash, whose key is stored with one, can
// conflict: an item without one (written before hashes were stored) is handled as
// before (BatchUpsert replaces it, ConditionalPut keeps it).

// maxBatchGet is how many keys one BatchGetItem call may read.
const maxBatchGet = 100

// laterRound marks the items of a Put call that must wait for a second round: those
// whose table and key an earlier item of the call has, with another payload hash. The
// first round writes the earlier one; the second then finds it stored and conflicts.
func laterRound(items []worker.Item) []bool {
	var later []bool
	first := make(map[string]string, len(items))
	for i, it := range items {
		k := itemKey(it)
		h, seen := first[k]
		if !seen {
			first[k] = it.PayloadHash()
			continue
		}
		if h != "" && it.PayloadHash() != "" && h != it.PayloadHash() {
			if later == nil {
				later = make([]bool, len(items))
			}
			later[i] = true
		}
	}
	return later
}

// compare is the result of writing incoming under a key stored with the hash existing
// (found false: not stored): write it, or not (err nil: the same event is stored
// already), or not because it conflicts (err a *worker.ConflictError).
func compare(it worker.Item, existing string, found bool) (write bool, err error) {
	incoming := it.PayloadHash()
	switch {
	case !found || incoming == "" || existing == "":
		return true, nil
	case existing == incoming:
		return false, nil
	}
	return false, &worker.ConflictError{Table: it.Table, Key: worker.KeyString(it.Key), Existing: existing, Incoming: incoming}
}

// storedHashes reads, with consistent BatchGetItem calls of at most 100 keys, the
// payload hash stored under the key of each item of idx that has a hash. It returns
// the hashes by item index (found: the key is stored) and sets errs[i] for an item
// whose read failed.
func (t *Table) storedHashes(ctx context.Context, items []worker.Item, idx []int, errs []error) map[int]storedHash {
	var want []int
	for _, i := range idx {
		if items[i].PayloadHash() != "" {
			want = append(want, i)
		}
	}
	got := make(map[int]storedHash, len(want))
	for start := 0; start < len(want); start += maxBatchGet {
		t.batchGet(ctx, items, want[start:min(start+maxBatchGet, len(want))], got, errs)
	}
	return got
}

// storedHash is what a read found under an item's key.
type storedHash struct {
	hash  string
	found bool
}

// batchGet reads the stored hashes of the items of idx (at most 100), sending
// UnprocessedKeys again as batchWrite sends UnprocessedItems.
func (t *Table) batchGet(ctx context.Context, items []worker.Item, idx []int, got map[int]storedHash, errs []error) {
	byKey := make(map[string]int, len(idx))
	req := make(map[string]types.KeysAndAttributes)
	for _, i := range idx {
		it := items[i]
		byKey[itemKey(it)] = i
		ka, ok := req[it.Table]
		if !ok {
			ka = hashProjection(it.Key)
		}
		ka.Keys = append(ka.Keys, keyAttributes(it.Key))
		req[it.Table] = ka
	}
	for _, i := range idx {
		got[i] = storedHash{} // not found unless a response holds it
	}
	for attempt := 0; ; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, t.opts.CallTimeout)
		out, err := t.api.BatchGetItem(cctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		cancel()
		if err != nil {
			t.batchGetFailed(ctx, items, req, byKey, got, errs, err)
			return
		}
		for table, avs := range out.Responses {
			for _, av := range avs {
				if i, ok := lookupKey(byKey, table, av, items); ok {
					h, _ := av[worker.HashAttribute].(*types.AttributeValueMemberS)
					got[i] = storedHash{found: true}
					if h != nil {
						got[i] = storedHash{hash: h.Value, found: true}
					}
				}
			}
		}
		if len(out.UnprocessedKeys) == 0 {
			return
		}
		req = out.UnprocessedKeys
		if attempt >= t.opts.UnprocessedRetries {
			failKeys(req, byKey, items, errs, &worker.RetryableError{Err: fmt.Errorf("batch get: %d keys still unprocessed after %d retries", countKeys(req), attempt)})
			return
		}
		select {
		case <-ctx.Done():
			failKeys(req, byKey, items, errs, classify(fmt.Errorf("batch get: %w", ctx.Err())))
			return
		case <-time.After(unprocessedBackoff.Delay(attempt+1, 0)):
		}
	}
}

// batchGetFailed handles a BatchGetItem call of req that failed with err as
// batchWriteFailed does a write: a missing table among several, or one invalid key
// among several, splits the call; else err, classified as an item's (classifyItem), is
// every pending item's error.
func (t *Table) batchGetFailed(ctx context.Context, items []worker.Item, req map[string]types.KeysAndAttributes, byKey map[string]int, got map[int]storedHash, errs []error, err error) {
	pending := keyIndexes(req, byKey, items)
	switch {
	case len(req) > 1 && isCode(err, "ResourceNotFoundException"):
		for _, table := range slices.Sorted(maps.Keys(req)) {
			t.batchGet(ctx, items, keyIndexes(map[string]types.KeysAndAttributes{table: req[table]}, byKey, items), got, errs)
		}
	case len(pending) > 1 && isValidation(err):
		for _, i := range pending {
			t.batchGet(ctx, items, []int{i}, got, errs)
		}
	default:
		// A ValidationException of a call of several keys was split above: here it is
		// about this one key (a partition key over 2,048 bytes, a sort key over 1,024),
		// which no write can store either: the item is unwritable, as in batchWriteFailed.
		err = classifyItem(fmt.Errorf("batch get the hashes of %d items to write to %s: %w", countKeys(req), strings.Join(slices.Sorted(maps.Keys(req)), ", "), err))
		failKeys(req, byKey, items, errs, err)
	}
}

// hashProjection reads only the key attributes and the payload hash, consistently.
func hashProjection(key map[string]string) types.KeysAndAttributes {
	names := map[string]string{"#h": worker.HashAttribute}
	proj := []string{"#h"}
	for i, k := range slices.Sorted(maps.Keys(key)) {
		n := fmt.Sprintf("#k%d", i)
		names[n] = k
		proj = append(proj, n)
	}
	return types.KeysAndAttributes{ConsistentRead: aws.Bool(true), ExpressionAttributeNames: names,
		ProjectionExpression: aws.String(strings.Join(proj, ", "))}
}

func keyAttributes(key map[string]string) map[string]types.AttributeValue {
	av := make(map[string]types.AttributeValue, len(key))
	for k, v := range key {
		av[k] = &types.AttributeValueMemberS{Value: v}
	}
	return av
}

// lookupKey finds the item of table whose key av holds.
func lookupKey(byKey map[string]int, table string, av map[string]types.AttributeValue, items []worker.Item) (int, bool) {
	for k, i := range byKey {
		if strings.HasPrefix(k, table+"\x00") && keyMatches(items[i].Key, av) {
			return i, true
		}
	}
	return 0, false
}

// keyIndexes maps the keys of req back to item indexes.
func keyIndexes(req map[string]types.KeysAndAttributes, byKey map[string]int, items []worker.Item) []int {
	var out []int
	for table, ka := range req {
		for _, av := range ka.Keys {
			if i, ok := lookupKey(byKey, table, av, items); ok {
				out = append(out, i)
			}
		}
	}
	return out
}

// failKeys sets err as the error of every item whose key is still pending in req.
func failKeys(req map[string]types.KeysAndAttributes, byKey map[string]int, items []worker.Item, errs []error, err error) {
	for _, i := range keyIndexes(req, byKey, items) {
		errs[i] = err
	}
}

func countKeys(req map[string]types.KeysAndAttributes) int {
	n := 0
	for _, ka := range req {
		n += len(ka.Keys)
	}
	return n
}

// conditionFailed is the result of a conditional put that found its key stored
// (exists): success when the same event is stored, or one without a hash, else a
// conflict. The stored hash comes with the exception (ReturnValuesOnConditionCheckFailure
// ALL_OLD, as DynamoDB returns it), else from a consistent GetItem.
func (t *Table) conditionFailed(ctx context.Context, it worker.Item, exists *types.ConditionalCheckFailedException) error {
	if it.PayloadHash() == "" {
		return nil // stored before: first write wins
	}
	old := exists.Item
	if old == nil {
		ka := hashProjection(it.Key)
		cctx, cancel := context.WithTimeout(ctx, t.opts.CallTimeout)
		defer cancel()
		out, err := t.api.GetItem(cctx, &dynamodb.GetItemInput{TableName: aws.String(it.Table), Key: keyAttributes(it.Key),
			ConsistentRead: ka.ConsistentRead, ProjectionExpression: ka.ProjectionExpression, ExpressionAttributeNames: ka.ExpressionAttributeNames})
		if err != nil {
			return classify(fmt.Errorf("get item %s in %s: %w", worker.KeyString(it.Key), it.Table, err))
		}
		if out.Item == nil {
			// Deleted since the condition failed: the next attempt writes it.
			return &worker.RetryableError{Err: fmt.Errorf("put item %s in %s: stored, then gone", worker.KeyString(it.Key), it.Table)}
		}
		old = out.Item
	}
	h, _ := old[worker.HashAttribute].(*types.AttributeValueMemberS)
	if h == nil {
		return nil
	}
	_, err := compare(it, h.Value, true)
	return err
}
