package awserr

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"eventproc/worker"
)

func opErr(err error) error {
	return &smithy.OperationError{ServiceID: "DynamoDB", OperationName: "PutItem", Err: err}
}

func httpErr(status int, err error) error {
	return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: err}}
}

func TestClassify(t *testing.T) {
	codes := Codes{Fatal: []string{"ResourceNotFoundException"}, Retryable: []string{"ProvisionedThroughputExceededException"}}
	fatal := &worker.FatalError{Err: errors.New("x")}
	tests := []struct {
		name      string
		err       error
		wantFatal bool
	}{
		{"missing table", opErr(httpErr(400, &smithy.GenericAPIError{Code: "ResourceNotFoundException"})), true},
		{"access denied", opErr(httpErr(400, &smithy.GenericAPIError{Code: "AccessDeniedException"})), true},
		{"bad credentials", opErr(httpErr(400, &smithy.GenericAPIError{Code: "UnrecognizedClientException"})), true},
		{"403 without a known code", opErr(httpErr(403, &smithy.GenericAPIError{Code: "Whatever"})), true},
		{"throughput", opErr(httpErr(400, &smithy.GenericAPIError{Code: "ProvisionedThroughputExceededException"})), false},
		{"throttling", opErr(httpErr(400, &smithy.GenericAPIError{Code: "ThrottlingException"})), false},
		{"server fault", opErr(httpErr(500, &smithy.GenericAPIError{Code: "Odd", Fault: smithy.FaultServer})), false},
		{"503 without a code", opErr(httpErr(503, errors.New("unavailable"))), false},
		{"after retries", opErr(&retry.MaxAttemptsError{Attempt: 3, Err: httpErr(500, &smithy.GenericAPIError{Code: "InternalServerError"})}), false},
		{"quota", opErr(fmt.Errorf("retry: %w", ratelimit.QuotaExceededError{})), false},
		{"refused", opErr(&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), false},
		{"timeout", opErr(fmt.Errorf("send: %w", context.DeadlineExceeded)), false},
		{"unknown 400", opErr(httpErr(400, &smithy.GenericAPIError{Code: "ValidationException"})), false},
		{"already fatal", fatal, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Classify(tc.err, codes)
			if worker.IsFatal(got) != tc.wantFatal {
				t.Errorf("Classify = %v, fatal %v; want fatal %v", got, worker.IsFatal(got), tc.wantFatal)
			}
			var re *worker.RetryableError
			if !tc.wantFatal && !errors.As(got, &re) {
				t.Errorf("Classify = %T, want *worker.RetryableError", got)
			}
			if !errors.Is(got, tc.err) {
				t.Errorf("Classify lost the cause")
			}
		})
	}
	if Classify(nil, codes) != nil {
		t.Errorf("Classify(nil) != nil")
	}
}
