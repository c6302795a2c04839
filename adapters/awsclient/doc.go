// Package awsclient builds the aws.Config that eventproc's AWS adapters use, and counts
// the API requests they make.
//
// Load takes everything from the SDK's default chain (credentials, region, profile,
// retries) and each service's endpoint from the SDK's own AWS_ENDPOINT_URL_SQS,
// AWS_ENDPOINT_URL_SNS and AWS_ENDPOINT_URL_DYNAMODB; it forces nothing static. Counter
// is an SDK middleware that counts requests and errors by service and operation.
package awsclient
