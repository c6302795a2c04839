// Package dynamotable connects the worker to Amazon DynamoDB: Table is a worker.Sink,
// Provision creates the tables that events.d writes to (given as a Spec), Describe and
// Probe inspect a table, and Count summarises one. NewClient builds the client from an
// aws.Config; no other package calls DynamoDB.
//
// Table writes in one of two modes. BatchUpsert, the default, reads the payload hashes
// stored under up to 25 keys with one consistent BatchGetItem, then writes the items
// not stored yet with one BatchWriteItem, retrying UnprocessedKeys and UnprocessedItems
// with a short, capped backoff; a key stored with the item's payload hash is not written
// again, one stored with another is a conflict (conflict.go), and 25 events cost one
// request pair. Put calls of one Table holding a key take turns from read to write
// (keylock.go); two workers writing one key at the same instant can still both read it
// absent. ConditionalPut sends one PutItem per item with attribute_not_exists on the
// key: the first write wins, and a later one is the same event or a conflict.
//
// Item values convert as string → S, int64, float64 and json.Number → N (json.Number
// keeps its literal), bool → BOOL, nil → NULL, time.Time → S (RFC 3339, nanoseconds,
// UTC), []any → L and map[string]any → M, recursively. Every call has its own timeout;
// errors are *worker.RetryableError or *worker.FatalError, told apart by API error code
// (and, for a key that does not match the table's key schema, a fatal error, by the
// ValidationException's documented message: see classify); an item DynamoDB refuses as
// it is (a ValidationException about that one item: over 400 KB, a number out of
// range, a key over DynamoDB's size limits) fails with *worker.UnwritableError, and the
// other items of its call are stored.
package dynamotable
