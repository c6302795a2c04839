package dynamotable

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"eventproc/worker"
)

var _ worker.Looker = (*Table)(nil)

// Lookup reads the item stored under key in table (GetItem, strongly consistent,
// projected to worker.HashAttribute and a key attribute, so that an item without the
// hash still comes back) and returns that attribute ("" when the item has
// none, or not as a string) and whether the item exists. The worker calls it before it
// dead-letters a message as exhausted. Errors are classified as Put's are: a key
// DynamoDB refuses (a partition key over 2,048 bytes) is a *worker.UnwritableError.
func (t *Table) Lookup(ctx context.Context, table string, key map[string]string) (hash string, found bool, err error) {
	k := make(map[string]types.AttributeValue, len(key))
	for n, v := range key {
		k[n] = &types.AttributeValueMemberS{Value: v}
	}
	names := map[string]string{"#h": worker.HashAttribute}
	proj := "#h"
	if len(key) > 0 {
		names["#k"] = slices.Sorted(maps.Keys(key))[0]
		proj += ", #k"
	}
	cctx, cancel := context.WithTimeout(ctx, t.opts.CallTimeout)
	defer cancel()
	out, err := t.api.GetItem(cctx, &dynamodb.GetItemInput{
		TableName:                aws.String(table),
		Key:                      k,
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String(proj),
		ExpressionAttributeNames: names,
	})
	if err != nil {
		// A ValidationException not about the key schema is about this key (too
		// large): *worker.UnwritableError, as a write of it is.
		return "", false, classifyItem(fmt.Errorf("get item %s in %s: %w", worker.KeyString(key), table, err))
	}
	if out.Item == nil {
		return "", false, nil
	}
	if s, ok := out.Item[worker.HashAttribute].(*types.AttributeValueMemberS); ok {
		hash = s.Value
	}
	return hash, true, nil
}
