package dynamotable

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"eventproc/worker"
)

// hashAPI is a table of one item per pk holding only its payload hash: BatchGetItem
// leaves the first key of its first unprocessed calls unprocessed, PutItem fails its
// condition with the stored item (ALL_OLD) as DynamoDB does.
type hashAPI struct {
	API
	mu          sync.Mutex
	stored      map[string]string
	unprocessed int
	gets        []int // keys per BatchGetItem call
	getItems    int
	writes      int
}

func (f *hashAPI) BatchGetItem(_ context.Context, in *dynamodb.BatchGetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &dynamodb.BatchGetItemOutput{Responses: map[string][]map[string]types.AttributeValue{}}
	for table, ka := range in.RequestItems {
		f.gets = append(f.gets, len(ka.Keys))
		if !aws.ToBool(ka.ConsistentRead) {
			return nil, errors.New("not a consistent read")
		}
		for i, k := range ka.Keys {
			if f.unprocessed > 0 && i == 0 {
				rest := ka
				rest.Keys = ka.Keys[:1]
				out.UnprocessedKeys = map[string]types.KeysAndAttributes{table: rest}
				continue
			}
			pk := k["pk"].(*types.AttributeValueMemberS).Value
			if h, ok := f.stored[pk]; ok {
				out.Responses[table] = append(out.Responses[table], map[string]types.AttributeValue{
					"pk": k["pk"], worker.HashAttribute: &types.AttributeValueMemberS{Value: h}})
			}
		}
	}
	if f.unprocessed > 0 {
		f.unprocessed--
	}
	return out, nil
}

func (f *hashAPI) BatchWriteItem(_ context.Context, in *dynamodb.BatchWriteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, rs := range in.RequestItems {
		for _, r := range rs {
			f.writes++
			f.stored[r.PutRequest.Item["pk"].(*types.AttributeValueMemberS).Value] = r.PutRequest.Item[worker.HashAttribute].(*types.AttributeValueMemberS).Value
		}
	}
	return &dynamodb.BatchWriteItemOutput{}, nil
}

func (f *hashAPI) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	pk := in.Item["pk"].(*types.AttributeValueMemberS).Value
	if h, ok := f.stored[pk]; ok {
		e := &types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")}
		if in.ReturnValuesOnConditionCheckFailure == types.ReturnValuesOnConditionCheckFailureAllOld {
			e.Item = map[string]types.AttributeValue{"pk": in.Item["pk"], worker.HashAttribute: &types.AttributeValueMemberS{Value: h}}
		}
		return nil, e
	}
	f.writes++
	f.stored[pk] = in.Item[worker.HashAttribute].(*types.AttributeValueMemberS).Value
	return &dynamodb.PutItemOutput{}, nil
}

func (f *hashAPI) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.getItems++
	return nil, errors.New("GetItem called")
}

func hashedItem(pk, h string) worker.Item {
	return worker.Item{Table: "t", Key: map[string]string{"pk": pk}, Attrs: map[string]any{worker.HashAttribute: h}}
}

// TestBatchReadsHashesOncePerWrite: one consistent BatchGetItem of the batch's keys
// before its BatchWriteItem; UnprocessedKeys are read again; only the unstored items
// are written.
func TestBatchReadsHashesOncePerWrite(t *testing.T) {
	f := &hashAPI{stored: map[string]string{"same": "h1", "conf": "h1"}, unprocessed: 2}
	errs := New(f, Options{}).Put(context.Background(), []worker.Item{
		hashedItem("conf", "h2"), hashedItem("new", "h1"), hashedItem("same", "h1")})
	var ce *worker.ConflictError
	if !errors.As(errs[0], &ce) || ce.Existing != "h1" || ce.Incoming != "h2" || errs[1] != nil || errs[2] != nil {
		t.Fatalf("errs %v", errs)
	}
	if f.writes != 1 || f.stored["new"] != "h1" || f.stored["conf"] != "h1" {
		t.Errorf("%d writes, stored %v; want only new written", f.writes, f.stored)
	}
	if len(f.gets) != 3 || f.gets[0] != 3 || f.gets[1] != 1 || f.gets[2] != 1 {
		t.Errorf("BatchGetItem key counts %v, want [3 1 1] (two unprocessed rounds)", f.gets)
	}
}

// TestConditionalConflictUsesReturnedItem: the stored hash comes with the failed
// condition (ALL_OLD): no GetItem.
func TestConditionalConflictUsesReturnedItem(t *testing.T) {
	f := &hashAPI{stored: map[string]string{"same": "h1", "conf": "h1"}}
	errs := New(f, Options{Mode: ConditionalPut}).Put(context.Background(), []worker.Item{
		hashedItem("conf", "h2"), hashedItem("new", "h1"), hashedItem("same", "h1")})
	var ce *worker.ConflictError
	if !errors.As(errs[0], &ce) || ce.Existing != "h1" || ce.Incoming != "h2" || errs[1] != nil || errs[2] != nil {
		t.Fatalf("errs %v", errs)
	}
	if f.getItems != 0 || f.writes != 1 || len(f.gets) != 0 {
		t.Errorf("%d GetItem, %d writes, %d BatchGetItem; want 0, 1, 0", f.getItems, f.writes, len(f.gets))
	}
}
