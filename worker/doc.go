// Package worker is eventproc's loop: receive → evaluate → persist → ack, back off, or
// dead-letter, with concurrency, batching and a graceful drain.
//
// It declares the small interfaces it consumes (Source, Sink, DeadLetter); adapters
// implement them for SQS and DynamoDB, and workertest gives in-memory fakes. It imports
// the engine and no AWS package.
package worker
