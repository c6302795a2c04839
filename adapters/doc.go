// Package adapters holds the only door to AWS: one package per system, each with an
// API interface listing the SDK calls it makes, its error classification
// (internal/awserr) and every inspection or probe of that system.
//
//   - sqsqueue: SQS queues as the worker's source and dead-letter queue, their
//     provisioning, inspection and redrive.
//   - dynamotable: DynamoDB tables as the worker's sink, their provisioning,
//     inspection and counts.
//   - snstopic: SNS topics in front of the queues: their provisioning, the queues'
//     subscriptions, and publishing (send --via-topic).
//   - awsclient: the aws.Config the adapters build their clients from, and the request
//     counter.
//   - awstest: the local emulators for tests.
//
// No package outside adapters/ imports an AWS SDK service package, and no adapter
// imports the engine (imports_test.go keeps both true).
package adapters
