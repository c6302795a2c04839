package dynamotable

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// NewClient returns the DynamoDB client of cfg (its region, credentials, endpoint and
// HTTP client), for New and the functions of this package.
func NewClient(cfg aws.Config) API { return dynamodb.NewFromConfig(cfg) }

// Description is a table as DynamoDB describes it.
type Description struct {
	Name string
	// Key is the table's key schema, in the order DynamoDB lists it.
	Key []KeyElement
	// Status is the table's status: "ACTIVE", "CREATING", "UPDATING", …
	Status string
}

// KeyElement is one attribute of a table's key schema.
type KeyElement struct {
	Name    string
	KeyType string // "HASH" (partition key) or "RANGE" (sort key)
	Type    string // the attribute's type: "S", "N" or "B"; "" when not defined
}

// Active reports whether the table is ACTIVE.
func (d Description) Active() bool { return d.Status == string(types.TableStatusActive) }

// Describe describes the table name in one call of at most timeout (10 s when not
// positive). Its errors are classified as Table's are; a missing table is a
// *worker.FatalError for which IsMissing is true.
func Describe(ctx context.Context, api API, name string, timeout time.Duration) (Description, error) {
	t, err := describe(ctx, api, name, timeout)
	if err != nil {
		return Description{}, err
	}
	d := Description{Name: aws.ToString(t.TableName), Status: string(t.TableStatus)}
	types := map[string]string{}
	for _, a := range t.AttributeDefinitions {
		types[aws.ToString(a.AttributeName)] = string(a.AttributeType)
	}
	for _, k := range t.KeySchema {
		n := aws.ToString(k.AttributeName)
		d.Key = append(d.Key, KeyElement{Name: n, KeyType: string(k.KeyType), Type: types[n]})
	}
	return d, nil
}

// Probe asks DynamoDB to describe the table name: nil when it answers, otherwise the
// classified error of the call (a missing table, denied access, no connection).
func Probe(ctx context.Context, api API, name string, timeout time.Duration) error {
	_, err := describe(ctx, api, name, timeout)
	return err
}

// IsMissing reports whether err says that a table does not exist.
func IsMissing(err error) bool {
	var missing *types.ResourceNotFoundException
	return errors.As(err, &missing)
}

// describe calls DescribeTable for the table name with a timeout (10 s when not
// positive).
func describe(ctx context.Context, api API, name string, timeout time.Duration) (*types.TableDescription, error) {
	if timeout <= 0 {
		timeout = defaultCallTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := api.DescribeTable(cctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		return nil, classify(fmt.Errorf("describe table %s: %w", name, err))
	}
	return out.Table, nil
}
