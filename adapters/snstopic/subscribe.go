package snstopic

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// Subscription is an SQS queue's subscription to a topic.
type Subscription struct {
	ARN string
	// Created is false when the queue was already subscribed (its raw delivery was then
	// set as asked).
	Created bool
}

// SubscribeQueue subscribes the SQS queue queueARN to the topic topicARN, with raw
// message delivery (the queue gets the published message itself, its attributes as
// message attributes) or without (the queue gets SNS's notification JSON, the message a
// string in its Message). It is idempotent: an existing subscription of the queue is
// found and its RawMessageDelivery set to raw.
//
// The queue must let the topic send to it (see sqsqueue.AllowTopic): SNS does not check
// this when subscribing.
func SubscribeQueue(ctx context.Context, api API, topicARN, queueARN string, raw bool, timeout time.Duration) (Subscription, error) {
	arn, err := findSubscription(ctx, api, topicARN, queueARN, timeout)
	if err != nil {
		return Subscription{}, err
	}
	rawValue := strconv.FormatBool(raw)
	if arn != "" {
		err := call(ctx, timeout, func(ctx context.Context) error {
			_, err := api.SetSubscriptionAttributes(ctx, &sns.SetSubscriptionAttributesInput{SubscriptionArn: aws.String(arn),
				AttributeName: aws.String("RawMessageDelivery"), AttributeValue: aws.String(rawValue)})
			return err
		})
		if err != nil {
			return Subscription{}, classify(fmt.Errorf("set raw delivery of %s: %w", arn, err))
		}
		return Subscription{ARN: arn}, nil
	}
	err = call(ctx, timeout, func(ctx context.Context) error {
		out, err := api.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(topicARN), Protocol: aws.String("sqs"),
			Endpoint: aws.String(queueARN), ReturnSubscriptionArn: true,
			Attributes: map[string]string{"RawMessageDelivery": rawValue}})
		if err == nil {
			arn = aws.ToString(out.SubscriptionArn)
		}
		return err
	})
	if err != nil {
		return Subscription{}, classify(fmt.Errorf("subscribe %s to %s: %w", queueARN, topicARN, err))
	}
	return Subscription{ARN: arn, Created: true}, nil
}

// findSubscription returns the ARN of the queue's subscription to the topic, or "".
func findSubscription(ctx context.Context, api API, topicARN, queueARN string, timeout time.Duration) (string, error) {
	var next *string
	for {
		var out *sns.ListSubscriptionsByTopicOutput
		err := call(ctx, timeout, func(ctx context.Context) error {
			var err error
			out, err = api.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(topicARN), NextToken: next})
			return err
		})
		if err != nil {
			return "", classify(fmt.Errorf("list subscriptions of %s: %w", topicARN, err))
		}
		for _, s := range out.Subscriptions {
			// A subscription still pending confirmation has no ARN yet; SQS ones never are.
			if aws.ToString(s.Protocol) == "sqs" && aws.ToString(s.Endpoint) == queueARN && aws.ToString(s.SubscriptionArn) != "PendingConfirmation" {
				return aws.ToString(s.SubscriptionArn), nil
			}
		}
		if next = out.NextToken; aws.ToString(next) == "" {
			return "", nil
		}
	}
}
