package dynamotable

import (
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"eventproc/engine"
)

// FuzzAttributeValue: every document the engine decodes converts to a DynamoDB map
// without error or panic, and converts back to the same document (numbers as their
// exact literals).
func FuzzAttributeValue(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":1,"b":-0.5e-3,"c":[true,null,"x",{"d":[]}],"e":""}`,
		`{"n":1e400,"m":123456789012345678901234567890}`, `{"a":"\ud83d\ude00","b":"\u0000"}`,
		`{"event_id":"e","event_type":"order.placed","tenant_id":"t","client_id":"c","schema_version":"v1","occurred_at":"2026-01-01T00:00:00Z","body":{"order_id":"o","user_id":"u","total":1.5,"items_count":1,"status":"x"}}`,
		strings.Repeat(`{"a":`, 60) + "1" + strings.Repeat("}", 60),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		doc, err := engine.DecodeDocument(body)
		if err != nil {
			return
		}
		av, err := AttributeValue(doc)
		if err != nil {
			t.Fatalf("a decoded document does not convert: %v", err)
		}
		m, ok := av.(*types.AttributeValueMemberM)
		if !ok {
			t.Fatalf("a document converts to %T", av)
		}
		if back := Values(m.Value); !reflect.DeepEqual(back, doc) {
			t.Fatalf("round trip changed the document:\n got %#v\nwant %#v", back, doc)
		}
	})
}
