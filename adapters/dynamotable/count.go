package dynamotable

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Group is the number of items that share values of the grouping attributes.
type Group struct {
	Values []string // one per attribute, "" when the item lacks it
	Items  int
}

// Count scans a whole table and counts its items by the values of the attributes by
// (strings, or numbers and bools in their text form). It reads only those attributes.
func Count(ctx context.Context, api API, table string, by []string) ([]Group, error) {
	in := &dynamodb.ScanInput{TableName: aws.String(table)}
	if len(by) > 0 {
		names := make(map[string]string, len(by))
		proj := make([]string, len(by))
		for i, b := range by {
			p := fmt.Sprintf("#a%d", i)
			names[p] = b
			proj[i] = p
		}
		in.ProjectionExpression = aws.String(strings.Join(proj, ", "))
		in.ExpressionAttributeNames = names
	}
	counts := map[string]*Group{}
	for {
		cctx, cancel := context.WithTimeout(ctx, defaultCallTimeout)
		out, err := api.Scan(cctx, in)
		cancel()
		if err != nil {
			return nil, classify(fmt.Errorf("scan %s: %w", table, err))
		}
		for _, item := range out.Items {
			vals := make([]string, len(by))
			for i, b := range by {
				vals[i] = text(item[b])
			}
			k := strings.Join(vals, "\x00")
			if counts[k] == nil {
				counts[k] = &Group{Values: vals}
			}
			counts[k].Items++
		}
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	groups := make([]Group, 0, len(counts))
	for _, g := range counts {
		groups = append(groups, *g)
	}
	sort.Slice(groups, func(i, j int) bool {
		return strings.Join(groups[i].Values, "\x00") < strings.Join(groups[j].Values, "\x00")
	})
	return groups, nil
}

func text(av types.AttributeValue) string {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return v.Value
	case *types.AttributeValueMemberN:
		return v.Value
	case *types.AttributeValueMemberBOOL:
		return fmt.Sprint(v.Value)
	}
	return ""
}
