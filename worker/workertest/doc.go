// Package workertest gives in-memory fakes of the worker's interfaces and the
// conformance suites that every implementation of them must pass.
//
// Queue is a fake SQS queue (worker.Source and worker.DeadLetter): receipt handles,
// visibility timeouts on an injectable clock, receive counts that grow on redelivery,
// an optional redrive to a dead-letter list, and injected failures per operation or per
// message. Table is a fake DynamoDB (worker.Sink): items stored by table and key,
// upsert or first-write-wins, call counts, injected failures per call or per item.
//
// TestSource, TestDeadLetter and TestSink are the conformance suites. They run against
// the fakes in this package's own tests and against the real adapters (adapters/sqsqueue,
// adapters/dynamotable) on the local emulators; a harness gives a suite what it needs
// from an implementation (a way to enqueue a raw message, to read items back, …) so the
// suites stay implementation-neutral.
//
// Everything here is safe for concurrent use.
package workertest
