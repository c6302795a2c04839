// Package limits declares, once, the AWS limits that eventproc works within and that
// several of its packages enforce: the engine refuses a message larger than SQS allows
// and a retry delay longer than a visibility timeout can be, config refuses such a
// visibility timeout, the SQS adapter fits dead letters and visibility changes within
// them, the CLI reads NDJSON lines of up to a message's size, and the fake table refuses
// items DynamoDB would.
//
// Like backoff, it is a package of its own that imports nothing, so that engine and
// config (which import no AWS and no adapter) and the adapters (which do not import
// the engine) can all use the same numbers.
package limits

import "time"

const (
	// MessageBytes is SQS's limit on a message, 1 MiB: its body plus, for every
	// message attribute, the bytes of its name, data type and value.
	MessageBytes = 1 << 20

	// MessageAttributes is how many message attributes SQS (and SNS) carry on one
	// message, 10: the engine bounds the cost of rules that walk message.attributes
	// and message.sns_attributes by it.
	MessageAttributes = 10

	// Visibility is SQS's upper bound for a message's visibility timeout, 12 hours. A
	// retry delay is applied as a visibility timeout, so no delay may exceed it.
	Visibility = 12 * time.Hour

	// ItemBytes is DynamoDB's limit on an item's size, 400 KB: attribute names and
	// values together.
	ItemBytes = 400 << 10
)
