// Package dynamotable connects the worker to Amazon DynamoDB: Table is a worker.Sink,
// Provision creates the tables that events.d writes to (given as a Spec), Describe and
// Probe inspect a table, and Count summarises one. NewClient builds the client from an
// aws.Config; no other package calls DynamoDB.
//
// Table writes in one of two modes. BatchUpsert, the default, sends BatchWriteItem
// calls of up to 25 items and retries the UnprocessedItems with a short, capped backoff;
// an item whose deterministic key is already stored is overwritten by an identical one,
// so a duplicate never adds an item, and 25 events cost one request. ConditionalPut
// sends one PutItem per item with attribute_not_exists on the key: the first write
// wins, and a later one is reported as stored.
//
// Item values convert as string → S, int64, float64 and json.Number → N (json.Number
// keeps its literal), bool → BOOL, nil → NULL, time.Time → S (RFC 3339, nanoseconds,
// UTC), []any → L and map[string]any → M, recursively. Every call has its own timeout;
// errors are *worker.RetryableError or *worker.FatalError, told apart by API error code
// (and, for a key that does not match the table's key schema, a fatal error, by the
// ValidationException's documented message: see classify); an item DynamoDB refuses as
// it is (a ValidationException about that one item: over 400 KB, a number out of
// range) fails with *worker.UnwritableError, and the other items of its call are stored.
package dynamotable
