package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"eventproc/worker"
)

// WatchWorker adds the worker's own counters, read at every scrape: messages received,
// in flight (received, outcome not yet decided), receive, ack and visibility errors,
// visibility extensions, FIFO releases. Call it once.
func (m *Metrics) WatchWorker(stats func() worker.Stats) {
	m.reg.MustRegister(&workerCollector{stats: stats})
}

var (
	descReceived   = prometheus.NewDesc("eventproc_messages_received_total", "Messages received from the queues.", nil, nil)
	descInFlight   = prometheus.NewDesc("eventproc_in_flight_messages", "Messages received whose outcome is not yet decided.", nil, nil)
	descRcvErrors  = prometheus.NewDesc("eventproc_receive_errors_total", "Failed ReceiveMessage calls (each is followed by a backoff).", nil, nil)
	descAckErrors  = prometheus.NewDesc("eventproc_ack_errors_total", "Messages whose delete failed (they are delivered again; their write is idempotent).", nil, nil)
	descVisErrors  = prometheus.NewDesc("eventproc_visibility_errors_total", "Visibility changes (retry delays, releases) that failed.", nil, nil)
	descExtensions = prometheus.NewDesc("eventproc_visibility_extensions_total", "Visibility extensions of messages held longer than half the visibility timeout.", nil, nil)
	descGroupRel   = prometheus.NewDesc("eventproc_fifo_released_total", "FIFO messages released unstarted behind their group's retried, held or released head (each costs a receive).", nil, nil)
)

type workerCollector struct{ stats func() worker.Stats }

func (c *workerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descReceived, descInFlight, descRcvErrors, descAckErrors, descVisErrors, descExtensions, descGroupRel} {
		ch <- d
	}
}

func (c *workerCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	settled := int64(0)
	for _, n := range st.Outcomes {
		settled += n
	}
	ch <- prometheus.MustNewConstMetric(descReceived, prometheus.CounterValue, float64(st.Received))
	ch <- prometheus.MustNewConstMetric(descInFlight, prometheus.GaugeValue, float64(max(st.Received-settled, 0)))
	ch <- prometheus.MustNewConstMetric(descRcvErrors, prometheus.CounterValue, float64(st.ReceiveErrors))
	ch <- prometheus.MustNewConstMetric(descAckErrors, prometheus.CounterValue, float64(st.AckErrors))
	ch <- prometheus.MustNewConstMetric(descVisErrors, prometheus.CounterValue, float64(st.VisibilityErrors))
	ch <- prometheus.MustNewConstMetric(descExtensions, prometheus.CounterValue, float64(st.Extended))
	ch <- prometheus.MustNewConstMetric(descGroupRel, prometheus.CounterValue, float64(st.GroupReleased))
}

// AWSCount is the number of requests to one AWS API operation, and how many failed.
type AWSCount struct {
	Service, Operation string
	Requests, Errors   int64
}

// WatchAWS adds the AWS request counts, read at every scrape from counts (the request
// counter's snapshot). Call it once.
func (m *Metrics) WatchAWS(counts func() []AWSCount) {
	m.reg.MustRegister(&awsCollector{counts: counts})
}

var (
	descAWSRequests = prometheus.NewDesc("eventproc_aws_requests_total",
		"AWS API requests (every attempt, as AWS bills them), by service and operation.", []string{"service", "operation"}, nil)
	descAWSErrors = prometheus.NewDesc("eventproc_aws_request_errors_total",
		"AWS API requests that failed, by service and operation.", []string{"service", "operation"}, nil)
)

type awsCollector struct{ counts func() []AWSCount }

func (c *awsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descAWSRequests
	ch <- descAWSErrors
}

func (c *awsCollector) Collect(ch chan<- prometheus.Metric) {
	for _, n := range c.counts() {
		ch <- prometheus.MustNewConstMetric(descAWSRequests, prometheus.CounterValue, float64(n.Requests), n.Service, n.Operation)
		ch <- prometheus.MustNewConstMetric(descAWSErrors, prometheus.CounterValue, float64(n.Errors), n.Service, n.Operation)
	}
}
