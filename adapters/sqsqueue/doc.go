// Package sqsqueue connects the worker to Amazon SQS: Queue is a worker.Source (long
// polling receive, batched deletes and visibility changes), DeadLetter a worker.DeadLetter
// (sends to the dead-letter queue named by a source's redrive policy), Provision creates a
// queue with its dead-letter queue, and SendBatch sends message bodies ten at a time.
// QueueAttributes, VisibilityTimeout, QueueDepth, RedriveTarget and Probe inspect a
// queue. NewClient builds the client from an aws.Config; no other package calls SQS.
//
// Every call has its own timeout. Errors are *worker.RetryableError (throttling, server
// faults, timeouts, network failures) or *worker.FatalError (a missing queue, denied
// access, bad credentials), told apart by the API's error codes.
package sqsqueue
