package snstopic

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"eventproc/worker"
)

const defaultCallTimeout = 10 * time.Second

// call runs f with a context bounded by timeout (10 s when not positive).
func call(ctx context.Context, timeout time.Duration, f func(ctx context.Context) error) error {
	if timeout <= 0 {
		timeout = defaultCallTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return f(ctx)
}

// IsFIFO reports whether the topic or queue given by name, ARN or URL is a FIFO one: its
// name ends in .fifo.
func IsFIFO(nameOrARN string) bool { return strings.HasSuffix(nameOrARN, ".fifo") }

// Name returns the name of a topic given by ARN (arn:aws:sns:REGION:ACCOUNT:NAME) or by
// name.
func Name(nameOrARN string) string {
	if strings.HasPrefix(nameOrARN, "arn:") {
		return nameOrARN[strings.LastIndexByte(nameOrARN, ':')+1:]
	}
	return nameOrARN
}

// TopicOptions configures CreateTopic. The zero value gives the defaults.
type TopicOptions struct {
	// ContentBasedDeduplication makes a FIFO topic deduplicate messages published without
	// a deduplication id by a hash of their body. Ignored for a standard topic.
	ContentBasedDeduplication bool
	// CallTimeout bounds every call (10 s when zero).
	CallTimeout time.Duration
}

// CreateTopic creates the topic called name, a FIFO topic when the name ends in .fifo,
// and returns its ARN. It is idempotent: a topic that exists is returned, its content-
// based deduplication set as asked.
func CreateTopic(ctx context.Context, api API, name string, opts TopicOptions) (string, error) {
	var attrs map[string]string
	if IsFIFO(name) {
		attrs = map[string]string{"FifoTopic": "true", "ContentBasedDeduplication": strconv.FormatBool(opts.ContentBasedDeduplication)}
	}
	var arn string
	err := call(ctx, opts.CallTimeout, func(ctx context.Context) error {
		out, err := api.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name), Attributes: attrs})
		if err == nil {
			arn = aws.ToString(out.TopicArn)
		}
		return err
	})
	if err != nil {
		// CreateTopic returns an existing topic only when given the attributes it has;
		// one that differs is found by name, and its attributes set below.
		if arn, _ = ResolveARN(ctx, api, name, opts.CallTimeout); arn == "" {
			return "", classify(fmt.Errorf("create topic %s: %w", name, err))
		}
	}
	if !IsFIFO(name) {
		return arn, nil
	}
	err = call(ctx, opts.CallTimeout, func(ctx context.Context) error {
		_, err := api.SetTopicAttributes(ctx, &sns.SetTopicAttributesInput{TopicArn: aws.String(arn),
			AttributeName: aws.String("ContentBasedDeduplication"), AttributeValue: aws.String(attrs["ContentBasedDeduplication"])})
		return err
	})
	if err != nil {
		return "", classify(fmt.Errorf("set content-based deduplication of topic %s: %w", name, err))
	}
	return arn, nil
}

// ResolveARN returns the ARN of a topic given by ARN (returned as is) or by name (looked
// up with ListTopics; a name no topic has is a *worker.FatalError).
func ResolveARN(ctx context.Context, api API, nameOrARN string, timeout time.Duration) (string, error) {
	if strings.HasPrefix(nameOrARN, "arn:") {
		return nameOrARN, nil
	}
	var next *string
	for {
		var out *sns.ListTopicsOutput
		err := call(ctx, timeout, func(ctx context.Context) error {
			var err error
			out, err = api.ListTopics(ctx, &sns.ListTopicsInput{NextToken: next})
			return err
		})
		if err != nil {
			return "", classify(fmt.Errorf("list topics: %w", err))
		}
		for _, t := range out.Topics {
			if arn := aws.ToString(t.TopicArn); Name(arn) == nameOrARN {
				return arn, nil
			}
		}
		if next = out.NextToken; aws.ToString(next) == "" {
			return "", &worker.FatalError{Err: fmt.Errorf("no topic is named %s", nameOrARN)}
		}
	}
}
