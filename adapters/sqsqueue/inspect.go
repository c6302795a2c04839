package sqsqueue

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// NewClient returns the SQS client of cfg (its region, credentials, endpoint and HTTP
// client), for New, NewDeadLetter and the functions of this package.
func NewClient(cfg aws.Config) API { return sqs.NewFromConfig(cfg) }

// Attributes are the settings of a queue that the worker depends on, as SQS reports
// them.
type Attributes struct {
	// VisibilityTimeout is the queue's default visibility timeout, when HasVisibility.
	VisibilityTimeout time.Duration
	// HasVisibility is false when SQS reported no VisibilityTimeout it could be read from.
	HasVisibility bool
	// RedrivePolicy is the queue's redrive policy as SQS returns it (JSON; see Redrive),
	// "" when the queue has none.
	RedrivePolicy string
}

// Redrive decodes the queue's redrive policy.
func (a Attributes) Redrive() (RedrivePolicy, error) {
	var rp RedrivePolicy
	err := json.Unmarshal([]byte(a.RedrivePolicy), &rp)
	return rp, err
}

// QueueAttributes reads the visibility timeout and the redrive policy of the queue at
// url (check --connect inspects them). Its errors are classified as the Queue's are.
func QueueAttributes(ctx context.Context, api API, url string, timeout time.Duration) (Attributes, error) {
	attrs, err := attributes(ctx, api, url, timeout, types.QueueAttributeNameVisibilityTimeout, types.QueueAttributeNameRedrivePolicy)
	if err != nil {
		return Attributes{}, err
	}
	a := Attributes{RedrivePolicy: attrs[string(types.QueueAttributeNameRedrivePolicy)]}
	if secs, err := strconv.Atoi(attrs[string(types.QueueAttributeNameVisibilityTimeout)]); err == nil {
		a.VisibilityTimeout, a.HasVisibility = time.Duration(secs)*time.Second, true
	}
	return a, nil
}

// VisibilityTimeout reads the default visibility timeout of the queue at url. A queue
// that reports none it can be read from is an error.
func VisibilityTimeout(ctx context.Context, api API, url string, timeout time.Duration) (time.Duration, error) {
	attrs, err := attributes(ctx, api, url, timeout, types.QueueAttributeNameVisibilityTimeout)
	if err != nil {
		return 0, err
	}
	raw := attrs[string(types.QueueAttributeNameVisibilityTimeout)]
	secs, err := strconv.Atoi(raw)
	if err != nil {
		return 0, fmt.Errorf("visibility timeout of %s: unreadable %q", url, raw)
	}
	return time.Duration(secs) * time.Second, nil
}

// Probe asks the queue at url for an attribute: nil when it answers, otherwise the
// classified error of the call (a missing queue, denied access, no connection).
func Probe(ctx context.Context, api API, url string, timeout time.Duration) error {
	_, err := attributes(ctx, api, url, timeout, types.QueueAttributeNameVisibilityTimeout)
	return err
}

// attributes gets the named attributes of the queue at url in one call of at most
// timeout (10 s when not positive).
func attributes(ctx context.Context, api API, url string, timeout time.Duration, names ...types.QueueAttributeName) (map[string]string, error) {
	if timeout <= 0 {
		timeout = defaultCallTimout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: names})
	if err != nil {
		return nil, classify(fmt.Errorf("attributes of %s: %w", url, err))
	}
	return out.Attributes, nil
}
