package e2e

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// faultProxy is a reverse proxy on loopback in front of an emulator, pointed at by the
// worker's AWS_ENDPOINT_URL_<SERVICE>. It counts requests, can play dead (every
// connection closed at once, as with a crashed endpoint), and, while its rule is on,
// answers a fraction of the requests the rule matches with the rule's error instead of
// passing them on. Safe for concurrent use.
type faultProxy struct {
	url      string
	rule     faultRule
	requests atomic.Int64 // every request
	matched  atomic.Int64 // requests the rule matched while on
	faults   atomic.Int64 // requests answered with the rule's error
	dead     atomic.Bool
	on       atomic.Bool
	srv      *http.Server
}

// faultRule says which requests a faultProxy fails, how often, and with what answer.
type faultRule struct {
	targets  []string // X-Amz-Target values matched (AWS JSON protocol); none: every request
	fraction float64  // of the matched requests, answered with the error
	status   int
	body     string            // a JSON error body, sent as application/x-amz-json-1.0
	header   map[string]string // further response headers
}

// The AWS errors the scenarios inject. Each is one the SDK parses and its standard
// retryer retries (a throttle; a 5xx) before the worker sees it: up to 4 attempts a
// DynamoDB call, 3 an SQS call (TestFaultProxy).
var (
	// throttleWrites answers DynamoDB writes as a table over its provisioned throughput.
	throttleWrites = faultRule{
		targets: []string{"DynamoDB_20120810.BatchWriteItem", "DynamoDB_20120810.PutItem",
			"DynamoDB_20120810.UpdateItem", "DynamoDB_20120810.TransactWriteItems"},
		status: http.StatusBadRequest,
		body: `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",` +
			`"message":"The level of configured provisioned throughput for the table was exceeded."}`,
	}
	// sqsInternalError answers any SQS call as SQS does when it fails on its side.
	sqsInternalError = faultRule{
		status: http.StatusInternalServerError,
		body:   `{"__type":"com.amazonaws.sqs#InternalError","message":"We encountered an internal error. Please try again."}`,
		header: map[string]string{"x-amzn-query-error": "InternalError;Receiver"},
	}
)

// newFaultProxy starts a proxy to target with rule (off until turned on), closed when t
// ends.
func newFaultProxy(t *testing.T, target string, rule faultRule) *faultProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fp := &faultProxy{url: "http://" + ln.Addr().String(), rule: rule}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) { w.WriteHeader(http.StatusBadGateway) }
	fp.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fp.requests.Add(1)
		switch {
		case fp.dead.Load():
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
					return
				}
			}
		case fp.fail(r):
			fp.answer(w)
			return
		}
		rp.ServeHTTP(w, r)
	})}
	go fp.srv.Serve(ln)
	t.Cleanup(func() { fp.srv.Close() })
	return fp
}

// fail reports whether r gets the rule's error: the rule is on, matches r, and the
// draw falls within its fraction.
func (fp *faultProxy) fail(r *http.Request) bool {
	if !fp.on.Load() || fp.rule.status == 0 {
		return false
	}
	if len(fp.rule.targets) > 0 && !slices.Contains(fp.rule.targets, r.Header.Get("X-Amz-Target")) {
		return false
	}
	fp.matched.Add(1)
	return rand.Float64() < fp.rule.fraction
}

// answer writes the rule's error.
func (fp *faultProxy) answer(w http.ResponseWriter) {
	fp.faults.Add(1)
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	for k, v := range fp.rule.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("X-Amzn-Requestid", "fault-proxy")
	w.WriteHeader(fp.rule.status)
	w.Write([]byte(fp.rule.body))
}

// rate counts the proxy's requests over d.
func (fp *faultProxy) rate(d time.Duration) float64 {
	before := fp.requests.Load()
	time.Sleep(d)
	return float64(fp.requests.Load()-before) / d.Seconds()
}

// String summarises what the proxy saw and did.
func (fp *faultProxy) String() string {
	m, f := fp.matched.Load(), fp.faults.Load()
	return fmt.Sprintf("requests %d, matched while on %d, answered with the fault %d (%.0f %%)",
		fp.requests.Load(), m, f, 100*float64(f)/float64(max(m, 1)))
}
