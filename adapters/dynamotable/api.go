package dynamotable

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"eventproc/adapters/internal/awserr"
)

// API is the part of the DynamoDB client that this package calls. *dynamodb.Client
// implements it.
type API interface {
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
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

// classify wraps err as a *worker.RetryableError or *worker.FatalError.
func classify(err error) error { return awserr.Classify(err, codes) }
