package dynamotable

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// AttributeValue converts an item value to DynamoDB's representation.
func AttributeValue(v any) (types.AttributeValue, error) {
	switch v := v.(type) {
	case nil:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case string:
		return &types.AttributeValueMemberS{Value: v}, nil
	case bool:
		return &types.AttributeValueMemberBOOL{Value: v}, nil
	case int64:
		return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}, nil
	case int:
		return &types.AttributeValueMemberN{Value: strconv.Itoa(v)}, nil
	case int32:
		return &types.AttributeValueMemberN{Value: strconv.FormatInt(int64(v), 10)}, nil
	case uint64:
		return &types.AttributeValueMemberN{Value: strconv.FormatUint(v, 10)}, nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("number %v is not finite", v)
		}
		return &types.AttributeValueMemberN{Value: strconv.FormatFloat(v, 'f', -1, 64)}, nil
	case float32:
		return AttributeValue(float64(v))
	case json.Number:
		if !isNumber(string(v)) {
			return nil, fmt.Errorf("number %q is not a JSON number literal", string(v))
		}
		return &types.AttributeValueMemberN{Value: string(v)}, nil
	case time.Time:
		return &types.AttributeValueMemberS{Value: v.UTC().Format(time.RFC3339Nano)}, nil
	case []any:
		l := make([]types.AttributeValue, len(v))
		for i, x := range v {
			av, err := AttributeValue(x)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			l[i] = av
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	case []string:
		l := make([]types.AttributeValue, len(v))
		for i, x := range v {
			l[i] = &types.AttributeValueMemberS{Value: x}
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	case map[string]any:
		m, err := attributeMap(v)
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	case map[string]string:
		m := make(map[string]types.AttributeValue, len(v))
		for k, x := range v {
			m[k] = &types.AttributeValueMemberS{Value: x}
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	}
	return nil, fmt.Errorf("unsupported value of type %T", v)
}

// isNumber reports whether s is a JSON number literal.
func isNumber(s string) bool {
	return s != "" && (s[0] == '-' || s[0] >= '0' && s[0] <= '9') && json.Valid([]byte(s))
}

func attributeMap(m map[string]any) (map[string]types.AttributeValue, error) {
	out := make(map[string]types.AttributeValue, len(m))
	for k, x := range m {
		av, err := AttributeValue(x)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = av
	}
	return out, nil
}
