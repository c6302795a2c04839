package dynamotable

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Spec is a table as the rules need it: its name and its key attributes, strings, the
// partition key first and the optional sort key second. (The caller converts its own
// table type, such as engine.Table, to it.)
type Spec struct {
	Name string
	Key  []string
}

// Provision creates table with string key attributes (the first the partition key, the
// optional second the sort key), billed per request, and waits until it is active. A
// table that exists is fine when its key schema is the same; otherwise the error names
// both schemas. It reports whether it created the table.
func Provision(ctx context.Context, api API, table Spec) (created bool, err error) {
	if table.Name == "" || len(table.Key) == 0 || len(table.Key) > 2 {
		return false, fmt.Errorf("provision table %q: key %v must have one or two attributes", table.Name, table.Key)
	}
	want := keySchema(table.Key)
	desc, err := describe(ctx, api, table.Name, defaultCallTimeout)
	switch {
	case IsMissing(err):
		in := &dynamodb.CreateTableInput{
			TableName:   aws.String(table.Name),
			BillingMode: types.BillingModePayPerRequest,
			KeySchema:   want,
		}
		for _, k := range table.Key {
			in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String(k), AttributeType: types.ScalarAttributeTypeS})
		}
		cctx, cancel := context.WithTimeout(ctx, defaultCallTimeout)
		_, err = api.CreateTable(cctx, in)
		cancel()
		var inUse *types.ResourceInUseException
		if errors.As(err, &inUse) { // created meanwhile by someone else
			_, err := Provision(ctx, api, table) // checks its schema
			return false, err
		}
		if err != nil {
			return false, classify(fmt.Errorf("create table %s: %w", table.Name, err))
		}
		created = true
	case err != nil:
		return false, err
	default:
		if got := describeSchema(desc.KeySchema, desc.AttributeDefinitions); got != describeSchema(want, stringDefs(table.Key)) {
			return false, fmt.Errorf("table %s exists with key schema %s, but events.d needs %s", table.Name, got, describeSchema(want, stringDefs(table.Key)))
		}
		if desc.TableStatus == types.TableStatusActive {
			return false, nil
		}
	}
	waiter := dynamodb.NewTableExistsWaiter(api, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 2*time.Second
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table.Name)}, 2*time.Minute); err != nil {
		return created, classify(fmt.Errorf("wait for table %s: %w", table.Name, err))
	}
	return created, nil
}

func keySchema(key []string) []types.KeySchemaElement {
	out := []types.KeySchemaElement{{AttributeName: aws.String(key[0]), KeyType: types.KeyTypeHash}}
	if len(key) == 2 {
		out = append(out, types.KeySchemaElement{AttributeName: aws.String(key[1]), KeyType: types.KeyTypeRange})
	}
	return out
}

func stringDefs(key []string) []types.AttributeDefinition {
	out := make([]types.AttributeDefinition, len(key))
	for i, k := range key {
		out[i] = types.AttributeDefinition{AttributeName: aws.String(k), AttributeType: types.ScalarAttributeTypeS}
	}
	return out
}

// describeSchema renders a key schema as "pk (HASH, S), sk (RANGE, S)".
func describeSchema(ks []types.KeySchemaElement, defs []types.AttributeDefinition) string {
	ks = slices.Clone(ks)
	slices.SortFunc(ks, func(a, b types.KeySchemaElement) int { // HASH before RANGE
		if a.KeyType == b.KeyType {
			return 0
		}
		if a.KeyType == types.KeyTypeHash {
			return -1
		}
		return 1
	})
	s := ""
	for i, k := range ks {
		typ := "?"
		for _, d := range defs {
			if aws.ToString(d.AttributeName) == aws.ToString(k.AttributeName) {
				typ = string(d.AttributeType)
			}
		}
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s (%s, %s)", aws.ToString(k.AttributeName), k.KeyType, typ)
	}
	return s
}
