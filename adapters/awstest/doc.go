// Package awstest runs the local AWS emulators for tests: fauxqs (SQS) and dynalite
// (DynamoDB), from the node_modules beside this package's npm pins (adapters/awstest/
// package.json and package-lock.json), each on a free loopback port.
//
// Start gives a test its own pair, stopped when the test ends; Shared gives every test
// of a binary one pair, started on first use and stopped by Main (call it from
// TestMain). Either returns the endpoints and an aws.Config (dummy static credentials,
// region us-east-1, the emulators' endpoints for SQS and DynamoDB and nothing else), and
// creates uniquely named queues and tables. A private pair can be stopped and started
// again (dynalite keeps its data on disk; fauxqs loses its queues) or paused and resumed
// (SIGSTOP/SIGCONT) for outage tests.
//
// When node or node_modules is missing, a test that asks for emulators fails with the
// command that installs them (npm ci --prefix adapters/awstest; make test runs it).
package awstest
