// Package awserr sorts AWS SDK errors into the worker's two kinds: *worker.RetryableError
// (throttling, server faults, timeouts, network failures) and *worker.FatalError (a
// missing queue or table, denied access, bad credentials). It reads smithy-go's API
// error codes and the SDK's error types with errors.As, never error messages.
package awserr

import (
	"errors"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"eventproc/worker"
)

// Codes lists a service's own error codes of each kind, beside the common ones.
type Codes struct {
	Fatal, Retryable []string
}

// Common codes of every AWS service.
var (
	commonFatal = []string{
		"AccessDenied", "AccessDeniedException", "UnrecognizedClientException",
		"InvalidClientTokenId", "SignatureDoesNotMatch", "InvalidSignatureException",
		"ExpiredToken", "ExpiredTokenException", "MissingAuthenticationToken",
		"IncompleteSignature", "InvalidAccessKeyId", "NotAuthorized", "OptInRequired",
		"KMS.AccessDeniedException", "KmsAccessDenied", "KmsDisabled", "KmsNotFound",
		"KMS.DisabledException", "KMS.NotFoundException",
	}
	commonRetryable = []string{
		"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled",
		"RequestThrottledException", "TooManyRequestsException", "RequestLimitExceeded",
		"SlowDown", "InternalError", "InternalFailure", "InternalServerError",
		"ServiceUnavailable", "ServiceUnavailableException", "RequestTimeout",
		"RequestTimeoutException", "KMS.ThrottlingException",
	}
)

// Classify wraps err as a *worker.FatalError or *worker.RetryableError. An error of
// neither kind is retryable: retrying what is not understood costs attempts, and the
// attempts' end dead-letters the message, whereas a fatal error stops the worker.
// A nil err stays nil; an error already classified is returned unchanged.
func Classify(err error, codes Codes) error {
	if err == nil {
		return nil
	}
	var re *worker.RetryableError
	var fe *worker.FatalError
	if errors.As(err, &re) || errors.As(err, &fe) {
		return err
	}
	if IsFatal(err, codes) {
		return &worker.FatalError{Err: err}
	}
	return &worker.RetryableError{Err: err}
}

// IsFatal reports whether err is a deployment problem that no retry fixes.
func IsFatal(err error, codes Codes) bool {
	var api smithy.APIError
	if errors.As(err, &api) {
		code := api.ErrorCode()
		if contains(commonFatal, code) || contains(codes.Fatal, code) {
			return true
		}
		if contains(commonRetryable, code) || contains(codes.Retryable, code) {
			return false
		}
	}
	var resp *awshttp.ResponseError
	if errors.As(err, &resp) {
		switch resp.HTTPStatusCode() {
		case 401, 403:
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
