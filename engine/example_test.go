package engine_test

import (
	"context"
	"fmt"
	"testing/fstest"

	"eventproc/engine"
)

// eventsD is a small events.d: an envelope, the defaults, and one event type.
var eventsD = fstest.MapFS{
	"envelope.yaml": {Data: []byte(`envelope:
  type_field: event_type
  version_field: schema_version
  id_field: event_id
  body_field: body
  fields:
    event_id: {type: string, required: true, min_length: 1}
    event_type: {type: string, required: true}
    schema_version: {type: string, required: true}
    tenant_id: {type: string, required: true}
`)},
	"defaults.yaml": {Data: []byte(`defaults:
  persist:
    table: events
    key:
      pk: header.tenant_id + "#" + header.event_id
`)},
	"cart.checked_out.yaml": {Data: []byte(`type: cart.checked_out
versions:
  v1:
    fields:
      cart_id: {type: string, required: true, min_length: 1}
      pieces: {type: integer, required: true, min: 1}
    rules:
      - id: at-most-50-pieces
        expr: body.pieces <= 50
        message: a cart holds at most 50 pieces
`)},
}

// Load reads and compiles a whole events.d, here an in-memory one, and returns every
// problem it finds, each with its position.
func ExampleLoad() {
	rs, diags := engine.Load(eventsD)
	if diags.HasErrors() {
		fmt.Println(diags)
		return
	}
	for _, t := range rs.Types() {
		fmt.Println(t.Name, t.Versions)
	}
	for _, t := range rs.Tables() {
		fmt.Println("table", t.Name, t.Key)
	}

	// A rule that reads an undeclared field is reported where its text starts.
	broken := fstest.MapFS{"cart.checked_out.yaml": {Data: []byte(`type: cart.checked_out
versions:
  v1:
    fields:
      pieces: {type: integer}
    rules:
      - id: bad
        expr: body.price > 0
`)}}
	for n, f := range eventsD {
		if n != "cart.checked_out.yaml" {
			broken[n] = f
		}
	}
	_, diags = engine.Load(broken)
	for _, d := range diags {
		fmt.Println(d)
	}
	// Output:
	// cart.checked_out [v1]
	// table events [pk]
	// cart.checked_out.yaml:8:19: rule bad: undefined field 'price' [unknown-field]
}

// Evaluate decodes one message, checks it against its type and version, and says
// what to do with it.
func ExampleRuleset_Evaluate() {
	rs, diags := engine.Load(eventsD)
	if diags.HasErrors() {
		fmt.Println(diags)
		return
	}
	for _, body := range []string{
		`{"event_id":"e-1","event_type":"cart.checked_out","schema_version":"v1","tenant_id":"acme","body":{"cart_id":"c-1","pieces":3}}`,
		`{"event_id":"e-2","event_type":"cart.checked_out","schema_version":"v1","tenant_id":"acme","body":{"cart_id":"","pieces":60}}`,
		`{"event_id":"e-3","event_type":"cart.abandoned","schema_version":"v1","tenant_id":"acme","body":{}}`,
		`{"event_id":"e-4",`,
	} {
		v := rs.Evaluate(context.Background(), body)
		if v.Outcome == engine.Valid {
			fmt.Printf("%s %s/%s\n", v.Outcome, v.EventType, v.Version)
		} else {
			fmt.Printf("%s %s/%s: %s\n", v.Outcome, v.EventType, v.Version, v.Reason())
		}
	}
	// Output:
	// valid cart.checked_out/v1
	// invalid cart.checked_out/v1: body.cart_id.min_length: must not be empty; at-most-50-pieces: a cart holds at most 50 pieces
	// invalid cart.abandoned/v1: unknown event type "cart.abandoned"
	// invalid /: undecodable message at byte 18: expected a string key
}
