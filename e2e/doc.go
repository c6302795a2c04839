// Package e2e holds the tests of eventproc as a whole: the binary as a subprocess and
// cli.Run in process, against private emulators (adapters/awstest), the container
// files, fault injection (crashes, outages, replicas, poison messages; each ending with
// the ledger of every message), and the drain benchmark. It has no code but its tests;
// they run from the repository's root.
package e2e
