package dynamotable

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"eventproc/worker"
	"eventproc/worker/workertest"
)

func TestAttributeValue(t *testing.T) {
	when := time.Date(2026, 2, 4, 14, 0, 15, 5, time.FixedZone("", -3*3600))
	tests := []struct {
		in   any
		want types.AttributeValue
	}{
		{"s", &types.AttributeValueMemberS{Value: "s"}},
		{"", &types.AttributeValueMemberS{Value: ""}},
		{int64(-7), &types.AttributeValueMemberN{Value: "-7"}},
		{100.5, &types.AttributeValueMemberN{Value: "100.5"}},
		{1e21, &types.AttributeValueMemberN{Value: "1000000000000000000000"}},
		{json.Number("100.50"), &types.AttributeValueMemberN{Value: "100.50"}},
		{json.Number("-1.5e3"), &types.AttributeValueMemberN{Value: "-1.5e3"}},
		{true, &types.AttributeValueMemberBOOL{Value: true}},
		{nil, &types.AttributeValueMemberNULL{Value: true}},
		{when, &types.AttributeValueMemberS{Value: "2026-02-04T17:00:15.000000005Z"}},
		{[]any{"a", int64(1)}, &types.AttributeValueMemberL{Value: []types.AttributeValue{
			&types.AttributeValueMemberS{Value: "a"}, &types.AttributeValueMemberN{Value: "1"}}}},
		{[]any{}, &types.AttributeValueMemberL{Value: []types.AttributeValue{}}},
		{map[string]any{"m": map[string]any{"x": nil}}, &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"x": &types.AttributeValueMemberNULL{Value: true}}}}}},
	}
	for _, tc := range tests {
		got, err := AttributeValue(tc.in)
		if err != nil {
			t.Errorf("AttributeValue(%#v): %v", tc.in, err)
			continue
		}
		if d := cmp.Diff(tc.want, got, cmp.Exporter(func(reflect.Type) bool { return true })); d != "" {
			t.Errorf("AttributeValue(%#v) (-want +got):\n%s", tc.in, d)
		}
	}
	for _, bad := range []any{math.NaN(), math.Inf(1), json.Number("1x"), json.Number("[1]"), json.Number(""), struct{}{}, []any{make(chan int)}} {
		if _, err := AttributeValue(bad); err == nil {
			t.Errorf("AttributeValue(%#v): no error", bad)
		}
	}
}

func TestValueRoundTrip(t *testing.T) {
	in := map[string]any{"s": "x", "n": json.Number("1.50"), "b": false, "z": nil,
		"l": []any{"a", json.Number("2")}, "m": map[string]any{"k": "v"}}
	av, err := attributeMap(in)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(in, Values(av)); d != "" {
		t.Errorf("round trip (-in +out):\n%s", d)
	}
}

// fakeAPI serves BatchWriteItem from a workertest.Table, leaving the first unprocessed
// items of each call unprocessed while unprocessed > 0, and rejects a batch with a
// duplicate key as DynamoDB does.
type fakeAPI struct {
	API
	mu          sync.Mutex
	store       *workertest.Table
	unprocessed int // calls that leave items unprocessed
	calls       []int
	fail        error
}

func (f *fakeAPI) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	n := countRequests(in.RequestItems)
	f.calls = append(f.calls, n)
	if n > 25 {
		return nil, &smithy.GenericAPIError{Code: "ValidationException", Message: "too many items"}
	}
	out := &dynamodb.BatchWriteItemOutput{}
	seen := map[string]bool{}
	for table, rs := range in.RequestItems {
		for i, r := range rs {
			key := map[string]string{"pk": r.PutRequest.Item["pk"].(*types.AttributeValueMemberS).Value}
			k := table + worker.KeyString(key)
			if seen[k] {
				return nil, &smithy.GenericAPIError{Code: "ValidationException", Message: "Provided list of item keys contains duplicates"}
			}
			seen[k] = true
			if f.unprocessed > 0 && i < 2 {
				if out.UnprocessedItems == nil {
					out.UnprocessedItems = map[string][]types.WriteRequest{}
				}
				out.UnprocessedItems[table] = append(out.UnprocessedItems[table], r)
				continue
			}
			f.store.Put(ctx, []worker.Item{{Table: table, Key: key, Attrs: Values(r.PutRequest.Item)}})
		}
	}
	if f.unprocessed > 0 {
		f.unprocessed--
	}
	return out, nil
}

func items(n int, table string) []worker.Item {
	out := make([]worker.Item, n)
	for i := range out {
		out[i] = worker.Item{Table: table, Key: map[string]string{"pk": fmt.Sprint("k", i)}, Attrs: map[string]any{"i": int64(i)}}
	}
	return out
}

func TestBatchUpsertRetriesUnprocessed(t *testing.T) {
	f := &fakeAPI{store: workertest.NewTable(workertest.Upsert), unprocessed: 3}
	errs := New(f, Options{}).Put(context.Background(), items(30, "t"))
	for i, err := range errs {
		if err != nil {
			t.Errorf("item %d: %v", i, err)
		}
	}
	if f.store.Len("t") != 30 {
		t.Errorf("stored %d items, want 30", f.store.Len("t"))
	}
	// 25 + 5, with the first two of each call left over three times.
	if fmt.Sprint(f.calls) != "[25 2 2 2 5]" {
		t.Errorf("batch sizes = %v", f.calls)
	}
}

func TestBatchUpsertGivesUpOnUnprocessed(t *testing.T) {
	f := &fakeAPI{store: workertest.NewTable(workertest.Upsert), unprocessed: 1000}
	start := time.Now()
	errs := New(f, Options{UnprocessedRetries: 3}).Put(context.Background(), items(5, "t"))
	var re *worker.RetryableError
	for i, err := range errs {
		if (i < 2) != errors.As(err, &re) {
			t.Errorf("item %d: %v", i, err)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
}

func TestBatchUpsertDedupesAndSpansTables(t *testing.T) {
	f := &fakeAPI{store: workertest.NewTable(workertest.Upsert)}
	in := append(items(3, "a"), items(3, "b")...)
	in = append(in, worker.Item{Table: "a", Key: map[string]string{"pk": "k1"}, Attrs: map[string]any{"i": int64(99)}})
	for i, err := range New(f, Options{}).Put(context.Background(), in) {
		if err != nil {
			t.Errorf("item %d: %v", i, err)
		}
	}
	if it, _ := f.store.Get("a", map[string]string{"pk": "k1"}); fmt.Sprint(it.Attrs["i"]) != "99" {
		t.Errorf("duplicate key: stored %v, want the last write", it.Attrs)
	}
	if f.store.Len("a") != 3 || f.store.Len("b") != 3 || len(f.calls) != 1 {
		t.Errorf("stored %d+%d items in %d calls", f.store.Len("a"), f.store.Len("b"), len(f.calls))
	}
}

func TestBatchUpsertCallErrorFailsItsItems(t *testing.T) {
	f := &fakeAPI{store: workertest.NewTable(workertest.Upsert),
		fail: &smithy.GenericAPIError{Code: "ProvisionedThroughputExceededException"}}
	in := items(3, "t")
	in = append(in, worker.Item{Table: "t", Key: map[string]string{"pk": "bad"}, Attrs: map[string]any{"x": struct{}{}}})
	errs := New(f, Options{}).Put(context.Background(), in)
	var re *worker.RetryableError
	for i := range 3 {
		if !errors.As(errs[i], &re) {
			t.Errorf("item %d: %v, want retryable", i, errs[i])
		}
	}
	if !worker.IsUnwritable(errs[3]) {
		t.Errorf("unconvertible item: %v, want unwritable", errs[3])
	}
	f.fail = &smithy.GenericAPIError{Code: "ResourceNotFoundException"}
	if errs := New(f, Options{}).Put(context.Background(), items(2, "t")); !worker.IsFatal(errs[0]) || !worker.IsFatal(errs[1]) {
		t.Errorf("missing table: %v", errs)
	}
}

// TestKeySchemaMismatchIsFatal: a key that does not match the table's schema is a
// deployment error; any other ValidationException is not.
func TestKeySchemaMismatchIsFatal(t *testing.T) {
	for msg, fatal := range map[string]bool{
		"The provided key element does not match the schema":                                        true,
		"One or more parameter values were invalid: Missing the key pk in the item":                 true,
		"One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N": true,
		"Item size has exceeded the maximum allowed size":                                           false,
		"Number overflow. Attempting to store a number with magnitude larger than supported range":  false,
	} {
		err := classify(&smithy.GenericAPIError{Code: "ValidationException", Message: msg})
		if worker.IsFatal(err) != fatal {
			t.Errorf("ValidationException %q: %v, want fatal %v", msg, err, fatal)
		}
	}
	if err := classify(&smithy.GenericAPIError{Code: "SomethingElse", Message: "The provided key element does not match the schema"}); worker.IsFatal(err) {
		t.Errorf("another code with the key message: %v, want not fatal", err)
	}
}

// TestUnprocessedBackoff: UnprocessedItems are sent again after 20 ms, doubling up to
// 500 ms.
func TestUnprocessedBackoff(t *testing.T) {
	ms := time.Millisecond
	want := []time.Duration{20 * ms, 40 * ms, 80 * ms, 160 * ms, 320 * ms, 500 * ms, 500 * ms, 500 * ms}
	for i, w := range want {
		if got := unprocessedBackoff.Delay(i+1, 0); got != w {
			t.Errorf("pause before resend %d = %v, want %v", i+1, got, w)
		}
	}
}
