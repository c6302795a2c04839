package worker

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"eventproc/engine"
)

// FuzzItem: for any message body, the path from the engine's verdict to the item the
// sink writes never panics and keeps its promises: a valid verdict always builds its
// item (never the "broken" outcome), with string keys and only the value types Item
// documents; an invalid one builds a rejected item that holds the raw body under a
// key; and decide maps every verdict to an outcome.
func FuzzItem(f *testing.F) {
	rs, diags := engine.Load(os.DirFS("../events.d"))
	if rs == nil || diags.HasErrors() {
		f.Fatalf("events.d: %v", diags)
	}
	w := &Worker{cfg: Config{Engine: rs, Now: time.Now}}
	r := rand.New(rand.NewPCG(1, 2))
	for _, ti := range rs.Types() {
		for _, v := range ti.Versions {
			for _, valid := range []bool{true, false} {
				body, err := rs.Generate(ti.Name, v, r, valid)
				if err != nil {
					f.Fatal(err)
				}
				f.Add(body)
			}
		}
	}
	for _, s := range []string{"", " ", "[]", "null", `{"a":1e400}`, `{"a":"\ud800"}`, "{\"a\":\"\xff\"}",
		strings.Repeat(`{"a":`, 70) + "1" + strings.Repeat("}", 70)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		v := rs.Evaluate(context.Background(), body, engine.ForStorage)
		msg := Message{ID: "m", Body: body, ReceiveCount: 1}
		var item Item
		switch v.Outcome {
		case engine.Valid:
			var err error
			item, err = w.validItem(msg, v)
			if err != nil {
				t.Fatalf("a valid verdict builds no item: %v", err)
			}
			if item.Attrs["status"] != "processed" || item.Attrs["event_id"] != v.EventID {
				t.Fatalf("valid item %v", item.Attrs)
			}
		case engine.Invalid:
			item = w.rejectedItem(msg, v)
			if item.Attrs["raw_body"] != body || item.Attrs["status"] != "failed" || item.Attrs["reason"] == "" {
				t.Fatalf("rejected item %v", item.Attrs)
			}
		default:
			if a := decide(facts{verdict: v}, 1, false, 0); a.outcome != RuleFailed || !a.deadLetter {
				t.Fatalf("rule failure decided as %+v", a)
			}
			return
		}
		if item.Table == "" || len(item.Key) == 0 {
			t.Fatalf("item without a table or key: %+v", item)
		}
		for k, s := range item.Key {
			if s == "" {
				t.Fatalf("key attribute %s is empty", k)
			}
			if _, clash := item.Attrs[k]; clash {
				t.Fatalf("key attribute %s also among the attributes", k)
			}
		}
		for k, x := range item.Attrs {
			checkValue(t, k, x)
		}
		if a := decide(facts{verdict: v, wrote: true}, 1, false, 0); !a.ack {
			t.Fatalf("a stored item is not acknowledged: %+v", a)
		}
	})
}

// checkValue fails t unless x is one of the value types Item documents, recursively.
func checkValue(t *testing.T, path string, x any) {
	switch x := x.(type) {
	case nil, string, int64, bool, time.Time:
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			t.Fatalf("%s: %v is not finite", path, x)
		}
	case json.Number:
		if !json.Valid([]byte(x)) || x == "" || (x[0] != '-' && (x[0] < '0' || x[0] > '9')) {
			t.Fatalf("%s: %q is not a JSON number", path, string(x))
		}
	case []any:
		for _, y := range x {
			checkValue(t, path+"[]", y)
		}
	case map[string]any:
		for k, y := range x {
			checkValue(t, path+"."+k, y)
		}
	default:
		t.Fatalf("%s: value of type %T", path, x)
	}
}
