package dynamotable

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"eventproc/adapters/awsclient"
	"eventproc/adapters/awstest"
	"eventproc/worker"
)

// BenchmarkBatchUpsert measures items written per second to dynalite, 25 per request,
// from 8 writers at once, and the requests each item costs.
func BenchmarkBatchUpsert(b *testing.B) {
	e := awstest.Shared(b)
	cfg := e.Config.Copy()
	var counter awsclient.Counter
	counter.Instrument(&cfg)
	cfg.HTTPClient = awsclient.HTTPClient()
	name := e.CreateTable(b, "bench", "pk")
	tbl := New(newClient(cfg), Options{})
	var next atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				start := int(next.Add(25)) - 25
				if start >= b.N {
					return
				}
				items := make([]worker.Item, 0, 25)
				for i := start; i < min(start+25, b.N); i++ {
					items = append(items, worker.Item{Table: name, Key: map[string]string{"pk": fmt.Sprint("k", i)},
						Attrs: map[string]any{"status": "processed", "body": map[string]any{"order_id": "o-1", "total": 100.5, "items_count": int64(2)}}})
				}
				for _, err := range tbl.Put(context.Background(), items) {
					if err != nil {
						b.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
	b.ReportMetric(float64(counter.Total().Requests)/float64(b.N), "requests/item")
}

func newClient(cfg aws.Config) *dynamodb.Client { return dynamodb.NewFromConfig(cfg) }
