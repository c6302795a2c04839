package dynamotable

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go"

	"eventproc/adapters/internal/awserr"
	"eventproc/worker"
)

// API is the part of the DynamoDB client that this package calls. *dynamodb.Client
// implements it.
type API interface {
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// codes are DynamoDB's own error codes of each kind.
var codes = awserr.Codes{
	Fatal: []string{"ResourceNotFoundException"},
	Retryable: []string{
		"ProvisionedThroughputExceededException", "RequestLimitExceeded",
		"TransactionConflictException", "ReplicatedWriteConflictException",
		"LimitExceededException",
	},
}

// classify wraps err as a *worker.RetryableError or *worker.FatalError. A key that does
// not match the table's key schema is fatal: events.d and the table disagree, which no
// retry fixes.
func classify(err error) error {
	if isKeySchemaMismatch(err) {
		return &worker.FatalError{Err: err}
	}
	return awserr.Classify(err, codes)
}

// classifyItem is classify for the error of a write of one item: a ValidationException
// that is not a key mismatch means that DynamoDB refuses this item as it is (over
// 400 KB, a number out of range, nested too deeply), a *worker.UnwritableError.
func classifyItem(err error) error {
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "ValidationException" && !isKeySchemaMismatch(err) {
		return &worker.UnwritableError{Err: err}
	}
	return classify(err)
}

// keySchemaMessages start the messages of the ValidationExceptions that say an item's
// key does not match its table's key schema. DynamoDB gives this code to every invalid
// request, so only the message tells a key mismatch apart; these are the messages
// DynamoDB documents and returns ("The provided key element does not match the schema"
// from BatchWriteItem, "Missing the key" and "Type mismatch for key" from PutItem), and
// dynalite returns the same. Kept to whole phrases about the key so that no other
// invalid item (too large, a number out of range) is taken for a deployment error.
var keySchemaMessages = []string{
	"The provided key element does not match the schema",
	"One or more parameter values were invalid: Missing the key ",
	"One or more parameter values were invalid: Type mismatch for key ",
}

// isKeySchemaMismatch reports whether err is a ValidationException about an item's key
// not matching the table's key schema.
func isKeySchemaMismatch(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "ValidationException" {
		return false
	}
	for _, m := range keySchemaMessages {
		if strings.HasPrefix(api.ErrorMessage(), m) {
			return true
		}
	}
	return false
}
