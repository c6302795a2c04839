package e2e

import (
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"eventproc/engine"
)

// TestLedgerConflicts: the ledger's arithmetic on two payloads under one key, without
// emulators: a conflict dead letter is counted apart, a payload silently replaced is
// missing, an event stored and dead-lettered is in two places, and a conflict with no
// other payload stored is in the wrong place.
func TestLedgerConflicts(t *testing.T) {
	rs, diags := engine.Load(os.DirFS("events.d"))
	if rs == nil {
		t.Fatal(diags)
	}
	l0 := newLedger(rs)
	valid := generate(t, rs, 2, true, 5)
	a, c := valid[0], valid[1]
	b := conflicting(t, l0, []string{a}, 1)[0] // a's key, another payload
	for _, body := range []string{a, b, c} {
		l0.sent(body)
	}

	item := func(body string) map[string]ddbtypes.AttributeValue {
		k, _ := l0.unitOf(body)
		it := map[string]ddbtypes.AttributeValue{"status": &ddbtypes.AttributeValueMemberS{Value: "processed"}}
		for name, v := range l0.units[k].fields {
			it[name] = &ddbtypes.AttributeValueMemberS{Value: v}
		}
		return it
	}
	letter := func(body, outcome string) sqstypes.Message {
		return sqstypes.Message{Body: aws.String(body), MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			"outcome": {DataType: aws.String("String"), StringValue: aws.String(outcome)}}}
	}
	tests := []struct {
		name    string
		stored  []string // bodies whose items the tables hold
		letters []sqstypes.Message
		want    settlement // Conflicts, DLQDistinct, Missing, InTwoPlaces, WrongPlace
	}{
		{"the newcomer dead-lettered as conflict", []string{a, c}, []sqstypes.Message{letter(b, "conflict")},
			settlement{Conflicts: 1}},
		{"the newcomer stored, the first dead-lettered as conflict (the item says which)", []string{b, c}, []sqstypes.Message{letter(a, "conflict")},
			settlement{Conflicts: 1}},
		{"silently replaced", []string{b, c}, nil, settlement{Missing: 1}},
		{"stored and dead-lettered", []string{a, c}, []sqstypes.Message{letter(b, "conflict"), letter(a, "exhausted")},
			settlement{Conflicts: 1, InTwoPlaces: 1}},
		{"a conflict with nothing stored", []string{c}, []sqstypes.Message{letter(b, "conflict"), letter(a, "exhausted")},
			settlement{Conflicts: 1, DLQDistinct: 1, WrongPlace: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLedger(rs)
			for _, body := range []string{a, b, c} {
				l.sent(body)
			}
			st := settlement{Places: map[string]*place{}}
			items := map[string][]map[string]ddbtypes.AttributeValue{}
			for _, body := range tc.stored {
				ik, _ := l.itemOf(body)
				items[ik] = append(items[ik], item(body))
			}
			for _, m := range tc.letters {
				k, _ := l.unitOf(aws.ToString(m.Body))
				if st.Places[k] == nil {
					st.Places[k] = &place{}
				}
				st.Places[k].dlq = append(st.Places[k].dlq, m)
			}
			l.tally(&st, items)
			got := settlement{Conflicts: st.Conflicts, DLQDistinct: st.DLQDistinct, Missing: st.Missing, InTwoPlaces: st.InTwoPlaces, WrongPlace: st.WrongPlace}
			if got.Conflicts != tc.want.Conflicts || got.DLQDistinct != tc.want.DLQDistinct || got.Missing != tc.want.Missing ||
				got.InTwoPlaces != tc.want.InTwoPlaces || got.WrongPlace != tc.want.WrongPlace {
				t.Errorf("conflicts %d, only in DLQ %d, missing %d, in two places %d, wrong place %d; want %d, %d, %d, %d, %d",
					got.Conflicts, got.DLQDistinct, got.Missing, got.InTwoPlaces, got.WrongPlace,
					tc.want.Conflicts, tc.want.DLQDistinct, tc.want.Missing, tc.want.InTwoPlaces, tc.want.WrongPlace)
			}
		})
	}
}
