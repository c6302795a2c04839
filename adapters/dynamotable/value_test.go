package dynamotable

import (
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The reverse of AttributeValue, for the tests that read back what was written.

// Value converts a DynamoDB attribute value back: S → string, N → json.Number, BOOL →
// bool, NULL → nil, L → []any, M → map[string]any, SS → []any of strings, NS → []any
// of json.Number, B and BS → []byte and []any of []byte.
func Value(av types.AttributeValue) any {
	switch av := av.(type) {
	case *types.AttributeValueMemberS:
		return av.Value
	case *types.AttributeValueMemberN:
		return json.Number(av.Value)
	case *types.AttributeValueMemberBOOL:
		return av.Value
	case *types.AttributeValueMemberNULL:
		return nil
	case *types.AttributeValueMemberL:
		l := make([]any, len(av.Value))
		for i, x := range av.Value {
			l[i] = Value(x)
		}
		return l
	case *types.AttributeValueMemberM:
		return Values(av.Value)
	case *types.AttributeValueMemberSS:
		l := make([]any, len(av.Value))
		for i, x := range av.Value {
			l[i] = x
		}
		return l
	case *types.AttributeValueMemberNS:
		l := make([]any, len(av.Value))
		for i, x := range av.Value {
			l[i] = json.Number(x)
		}
		return l
	case *types.AttributeValueMemberB:
		return av.Value
	case *types.AttributeValueMemberBS:
		l := make([]any, len(av.Value))
		for i, x := range av.Value {
			l[i] = x
		}
		return l
	}
	return nil
}

// Values converts a DynamoDB item (or map) back with Value.
func Values(m map[string]types.AttributeValue) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = Value(v)
	}
	return out
}
