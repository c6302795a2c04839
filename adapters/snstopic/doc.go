// Package snstopic connects eventproc to Amazon SNS, the fan-out in front of its
// queues: CreateTopic creates a standard or FIFO topic, SubscribeQueue subscribes an
// SQS queue to it (raw message delivery on or off), ResolveARN finds a topic given by
// ARN or by name, and Publish publishes messages ten per PublishBatch call. NewClient
// builds the client from an aws.Config; no other package calls SNS.
//
// Every call has its own timeout. Errors are *worker.RetryableError (throttling, server
// faults, timeouts, network failures) or *worker.FatalError (a missing topic, denied
// access, a parameter SNS refuses), told apart by the API's error codes.
package snstopic
