package awsclient

import (
	"context"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// Counter counts AWS API requests and failed requests by service and operation. Every
// attempt is a request (an SDK retry counts again), as AWS bills them. The zero value is
// ready; safe for concurrent use.
type Counter struct {
	mu     sync.Mutex
	counts map[Op]Count
}

// Op is one API operation: Service is the SDK's service id ("SQS", "DynamoDB"),
// Operation the API name ("ReceiveMessage").
type Op struct {
	Service, Operation string
}

// Count is the number of requests to an operation and how many of them failed.
type Count struct {
	Requests, Errors int64
}

// Instrument adds the counting middleware to every client built from cfg.
func (c *Counter) Instrument(cfg *aws.Config) {
	cfg.APIOptions = append(cfg.APIOptions, c.addMiddleware)
}

func (c *Counter) addMiddleware(s *middleware.Stack) error {
	// In the finalize step after the retry middleware: once per attempt.
	return s.Finalize.Add(middleware.FinalizeMiddlewareFunc("eventproc.RequestCounter",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleFinalize(ctx, in)
			c.add(Op{awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)}, err != nil)
			return out, md, err
		}), middleware.After)
}

func (c *Counter) add(op Op, failed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = make(map[Op]Count)
	}
	n := c.counts[op]
	n.Requests++
	if failed {
		n.Errors++
	}
	c.counts[op] = n
}

// Snapshot returns the counts so far, one entry per operation called.
func (c *Counter) Snapshot() map[Op]Count {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[Op]Count, len(c.counts))
	for k, v := range c.counts {
		out[k] = v
	}
	return out
}

// Total returns the counts of every operation added up.
func (c *Counter) Total() Count {
	c.mu.Lock()
	defer c.mu.Unlock()
	var t Count
	for _, v := range c.counts {
		t.Requests += v.Requests
		t.Errors += v.Errors
	}
	return t
}

// Ops returns the operations called so far, sorted by service and operation.
func (c *Counter) Ops() []Op {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Op, 0, len(c.counts))
	for k := range c.counts {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Service != out[j].Service {
			return out[i].Service < out[j].Service
		}
		return out[i].Operation < out[j].Operation
	})
	return out
}
