package sqsqueue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"eventproc/worker"
)

// SendBatch sends up to ten bodies to the queue at url in one SendMessageBatch call,
// retrying the entries that failed for a reason other than the sender's (throttling, a
// server fault) a few times. It returns how many were sent and, when some were not, why.
func SendBatch(ctx context.Context, api API, url string, bodies []string, timeout time.Duration) (int, error) {
	if len(bodies) > maxBatch {
		return 0, fmt.Errorf("send batch: %d messages, at most %d", len(bodies), maxBatch)
	}
	if timeout <= 0 {
		timeout = defaultCallTimout
	}
	pending := make([]int, len(bodies)) // indexes into bodies
	for i := range pending {
		pending[i] = i
	}
	sent := 0
	var lastErr error
	for attempt := 0; len(pending) > 0 && attempt < 4; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return sent, classify(fmt.Errorf("send to %s: %w", url, ctx.Err()))
			case <-time.After(time.Duration(50<<attempt) * time.Millisecond):
			}
		}
		entries := make([]types.SendMessageBatchRequestEntry, len(pending))
		for j, i := range pending {
			entries[j] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(bodies[i])}
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		out, err := api.SendMessageBatch(cctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
		cancel()
		if err != nil {
			err = classify(fmt.Errorf("send %d messages to %s: %w", len(pending), url, err))
			if !errors.As(err, new(*worker.RetryableError)) {
				return sent, err
			}
			lastErr = err
			continue
		}
		sent += len(out.Successful)
		var retry []int
		var errs []error
		for _, f := range out.Failed {
			i, ok := entryIndex(f.Id, len(bodies))
			if !ok {
				continue
			}
			if f.SenderFault {
				errs = append(errs, fmt.Errorf("send message %d: %w", i, entryError(f)))
				continue
			}
			retry = append(retry, i)
			lastErr = fmt.Errorf("send message %d: %w", i, entryError(f))
		}
		if len(errs) > 0 {
			return sent, errors.Join(errs...)
		}
		pending = retry
	}
	if len(pending) > 0 {
		return sent, lastErr
	}
	return sent, nil
}
