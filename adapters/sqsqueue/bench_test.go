package sqsqueue

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"eventproc/adapters/awsclient"
	"eventproc/adapters/awstest"
)

// BenchmarkReceiveAck measures messages received and deleted per second on fauxqs by 8
// pollers (10 per receive, one batched delete per receive), and the requests each costs.
// Filling the queue is not timed.
func BenchmarkReceiveAck(b *testing.B) {
	e := awstest.Shared(b)
	cfg := e.Config.Copy()
	var counter awsclient.Counter
	counter.Instrument(&cfg)
	cfg.HTTPClient = awsclient.HTTPClient()
	c := sqs.NewFromConfig(cfg)
	q := e.CreateQueue(b, "bench", nil)
	body := `{"event_id":"6f1c2a7e-0b7e-4c8e-9a43-2f1d7b1e9c11","event_type":"order.placed","tenant_id":"tenant-7","client_id":"client-42","schema_version":"v1","occurred_at":"2026-02-04T14:00:15-03:00","body":{"order_id":"ord-1","user_id":"u-1","total":100.50,"items_count":2,"status":"confirmed"}}`
	var fill sync.WaitGroup
	var next atomic.Int64
	for range 8 {
		fill.Go(func() {
			for {
				start := int(next.Add(10)) - 10
				if start >= b.N {
					return
				}
				bodies := make([]string, min(10, b.N-start))
				for i := range bodies {
					bodies[i] = body
				}
				if _, err := SendBatch(context.Background(), c, q.URL, bodies, 0); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	fill.Wait()
	before := counter.Total().Requests
	src := New(c, q.URL, Options{WaitTime: time.Second})
	var got atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for got.Load() < int64(b.N) {
				ms, err := src.Receive(context.Background(), 10)
				if err != nil {
					b.Error(err)
					return
				}
				if len(ms) == 0 {
					continue
				}
				if failed, err := src.Ack(context.Background(), ms); err != nil || len(failed) > 0 {
					b.Error(fmt.Errorf("ack: %d failed: %w", len(failed), err))
					return
				}
				got.Add(int64(len(ms)))
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(counter.Total().Requests-before)/float64(b.N), "requests/msg")
}
