package snstopic

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"eventproc/adapters/internal/awserr"
	"eventproc/adapters/internal/batch"
)

// API is the part of the SNS client that this package calls. *sns.Client implements it.
type API interface {
	CreateTopic(ctx context.Context, in *sns.CreateTopicInput, opts ...func(*sns.Options)) (*sns.CreateTopicOutput, error)
	SetTopicAttributes(ctx context.Context, in *sns.SetTopicAttributesInput, opts ...func(*sns.Options)) (*sns.SetTopicAttributesOutput, error)
	ListTopics(ctx context.Context, in *sns.ListTopicsInput, opts ...func(*sns.Options)) (*sns.ListTopicsOutput, error)
	Subscribe(ctx context.Context, in *sns.SubscribeInput, opts ...func(*sns.Options)) (*sns.SubscribeOutput, error)
	ListSubscriptionsByTopic(ctx context.Context, in *sns.ListSubscriptionsByTopicInput, opts ...func(*sns.Options)) (*sns.ListSubscriptionsByTopicOutput, error)
	SetSubscriptionAttributes(ctx context.Context, in *sns.SetSubscriptionAttributesInput, opts ...func(*sns.Options)) (*sns.SetSubscriptionAttributesOutput, error)
	PublishBatch(ctx context.Context, in *sns.PublishBatchInput, opts ...func(*sns.Options)) (*sns.PublishBatchOutput, error)
}

var _ API = (*sns.Client)(nil)

// NewClient returns an SNS client built from cfg.
func NewClient(cfg aws.Config) API { return sns.NewFromConfig(cfg) }

// EntryError is the failure of one entry of a PublishBatch call.
type EntryError = batch.EntryError

// codes are SNS's own error codes of each kind. A parameter SNS refuses (a name, an
// attribute, a missing group id on a FIFO topic) is fatal: no retry changes it.
var codes = awserr.Codes{
	Fatal: []string{
		"NotFound", "NotFoundException", "AuthorizationError", "InvalidSecurity",
		"InvalidParameter", "InvalidParameterValue", "KMSAccessDenied", "KMSDisabled",
		"KMSInvalidState", "KMSNotFound", "KMSOptInRequired", "TopicLimitExceeded",
		"SubscriptionLimitExceeded", "EmptyBatchRequest", "TooManyEntriesInBatchRequest",
		"BatchEntryIdsNotDistinct", "InvalidBatchEntryId", "BatchRequestTooLong",
	},
	Retryable: []string{"Throttled", "KMSThrottling", "InternalError"},
}

// classify wraps err as a *worker.RetryableError or *worker.FatalError.
func classify(err error) error { return awserr.Classify(err, codes) }
