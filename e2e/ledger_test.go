package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"golang.org/x/sync/errgroup"

	"eventproc/engine"
)

// The ledger: what a scenario sent, against where it all ended. Every distinct message
// sent (a "unit": a valid event by its item key and payload, anything else by its body)
// must end in exactly one place — a processed item, a rejected (failed) item, a dead
// letter of outcome conflict (a payload that found its key holding another), or another
// dead letter — and the queue must be empty. The engine's own verdict on each body says
// which place is right for it (a valid event may also be dead-lettered after an outage).

// ledger records what was sent. Safe for concurrent use.
type ledger struct {
	rs *engine.Ruleset

	mu       sync.Mutex
	messages int                 // messages the queue accepted (duplicates included)
	units    map[string]*unit    // by unit key
	byItem   map[string][]string // item key → the unit keys sent under it, in order sent
	refused  []string            // bodies the queue refused, with why
}

// unit is one distinct thing sent.
type unit struct {
	key       string
	outcome   engine.Outcome // the engine's verdict on the body
	eventID   string
	eventType string
	body      string
	fields    map[string]string // a valid event's top-level string members, as its item holds them
	sent      int               // times sent
}

func newLedger(rs *engine.Ruleset) *ledger {
	return &ledger{rs: rs, units: map[string]*unit{}, byItem: map[string][]string{}}
}

// keyString identifies an item: its table and key attributes.
func keyString(table string, key map[string]string) string {
	var b strings.Builder
	b.WriteString(table)
	for _, k := range slices.Sorted(maps.Keys(key)) {
		b.WriteString("\x00" + k + "=" + key[k])
	}
	return b.String()
}

// unitOf returns the unit key and verdict of a body: a valid event's item key with the
// hash of its payload (two payloads under one key are two units), or the key of the
// rejected item that its body gets.
func (l *ledger) unitOf(body string) (string, *engine.Verdict) {
	k, v := l.itemOf(body)
	return unitKey(k, body, v), v
}

// unitKey is the unit key of a body whose item key is k.
func unitKey(k, body string, v *engine.Verdict) string {
	if v.Outcome != engine.Valid || v.Persist == nil {
		return k
	}
	sum := sha256.Sum256([]byte(body))
	return k + "\x00payload=" + hex.EncodeToString(sum[:8])
}

// itemOf returns the key of the item a body is stored as (processed or rejected), and
// the body's verdict.
func (l *ledger) itemOf(body string) (string, *engine.Verdict) {
	v := l.rs.Evaluate(context.Background(), body)
	p := v.Persist
	if v.Outcome != engine.Valid || p == nil {
		r := l.rs.Rejection(body)
		p = &r
	}
	key := map[string]string{}
	for _, a := range p.Key {
		key[a.Name], _ = a.Value.(string)
	}
	return keyString(p.Table, key), v
}

// sent records a body the queue accepted.
func (l *ledger) sent(body string) {
	ik, v := l.itemOf(body)
	k := unitKey(ik, body, v)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.messages++
	u := l.units[k]
	if u == nil {
		u = &unit{key: k, outcome: v.Outcome, eventID: v.EventID, eventType: v.EventType, body: body, fields: map[string]string{}}
		for _, f := range v.Fields {
			if s, ok := f.Value.(string); ok {
				u.fields[f.Name] = s
			}
		}
		l.units[k] = u
		l.byItem[ik] = append(l.byItem[ik], k)
	}
	u.sent++
}

// rejudge judges everything sent again under rs: the rules after a reload.
func (l *ledger) rejudge(rs *engine.Ruleset) {
	l.mu.Lock()
	old := l.units
	l.rs, l.messages, l.units, l.byItem = rs, 0, map[string]*unit{}, map[string][]string{}
	l.mu.Unlock()
	for _, u := range old {
		for range u.sent {
			l.sent(u.body)
		}
	}
}

// refuse records a body the queue refused to take.
func (l *ledger) refuse(body string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refused = append(l.refused, fmt.Sprintf("%.40q…(%d bytes): %v", body, len(body), err))
}

// send sends bodies to url, ten a call, up to 8 calls at once, at about rate messages
// a second (0: as fast as it goes), and records each accepted one. Entries the queue
// refuses are an error.
func (l *ledger) send(ctx context.Context, sq *sqs.Client, url string, bodies []string, rate float64) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	start := time.Now()
	for i := 0; i < len(bodies); i += 10 {
		if rate > 0 {
			due := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
			select {
			case <-ctx.Done():
				return g.Wait()
			case <-time.After(time.Until(due)):
			}
		}
		chunk := bodies[i:min(i+10, len(bodies))]
		g.Go(func() error {
			in := &sqs.SendMessageBatchInput{QueueUrl: aws.String(url)}
			for j, b := range chunk {
				in.Entries = append(in.Entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(j)), MessageBody: aws.String(b)})
			}
			cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			out, err := sq.SendMessageBatch(cctx, in)
			if err != nil {
				return fmt.Errorf("send: %w", err)
			}
			for _, s := range out.Successful {
				j, _ := strconv.Atoi(aws.ToString(s.Id))
				l.sent(chunk[j])
			}
			if len(out.Failed) > 0 {
				return fmt.Errorf("send: %d refused: %s", len(out.Failed), aws.ToString(out.Failed[0].Message))
			}
			return nil
		})
	}
	return g.Wait()
}

// sendAsync is send in the background; the channel yields its result.
func (l *ledger) sendAsync(sq *sqs.Client, url string, bodies []string, rate float64) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- l.send(context.Background(), sq, url, bodies, rate) }()
	return ch
}

// place is where one unit ended.
type place struct {
	items []map[string]ddbtypes.AttributeValue // its items (at most one: keys are unique)
	dlq   []sqstypes.Message                   // its dead-lettered messages
}

// conflict reports whether the unit's dead letters say it found its key holding another
// payload.
func (p *place) conflict() bool {
	return len(p.dlq) > 0 && attrs(p.dlq[0])["outcome"] == "conflict"
}

// settlement is the ledger's accounting after a scenario.
type settlement struct {
	Name string
	// sent
	Messages, Distinct, Valid, Invalid, RuleFailed, EventIDs int
	// where it ended: Conflicts are units only in the DLQ as outcome conflict, DLQDistinct
	// the other units only in the DLQ.
	Processed, Failed, Conflicts, DLQ, DLQDistinct, QueueLeft int
	// DLQCopies are dead letters of events that are also stored: legitimate only when
	// the event was sent more than once (one copy stored, another dead-lettered).
	DLQCopies int
	// what must be zero
	Missing, InTwoPlaces, Unknown, WrongPlace, IDTwice int

	Places map[string]*place // by unit key
}

// Balanced reports whether everything sent is in exactly one right place.
func (s settlement) Balanced() bool {
	return s.Distinct == s.Processed+s.Failed+s.Conflicts+s.DLQDistinct && s.DLQ == s.DLQDistinct+s.Conflicts+s.DLQCopies &&
		s.Missing == 0 && s.InTwoPlaces == 0 && s.Unknown == 0 && s.WrongPlace == 0 && s.IDTwice == 0 && s.QueueLeft == 0
}

// anomalies is the sum of what must be zero.
func (s settlement) anomalies() int {
	return s.Missing + s.InTwoPlaces + s.Unknown + s.WrongPlace + s.IDTwice
}

// String is the ledger table.
func (s settlement) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ledger %s\n", s.Name)
	fmt.Fprintf(&b, "  sent: %d messages, %d distinct (%d valid, %d invalid, %d rule_failed by the engine's verdict), %d event ids\n",
		s.Messages, s.Distinct, s.Valid, s.Invalid, s.RuleFailed, s.EventIDs)
	fmt.Fprintf(&b, "  ended: %d processed items + %d failed items + %d conflicts + %d only in the DLQ = %d (the DLQ holds %d messages, %d of them copies of events stored or dead-lettered once already)\n",
		s.Processed, s.Failed, s.Conflicts, s.DLQDistinct, s.Processed+s.Failed+s.Conflicts+s.DLQDistinct, s.DLQ, s.DLQCopies)
	fmt.Fprintf(&b, "  left in the queue %d; missing %d; in two places %d; not sent %d; wrong place %d; event ids stored twice %d\n",
		s.QueueLeft, s.Missing, s.InTwoPlaces, s.Unknown, s.WrongPlace, s.IDTwice)
	if s.Balanced() {
		b.WriteString("  BALANCED\n")
	} else {
		b.WriteString("  NOT BALANCED\n")
	}
	fmt.Fprintf(&b, "  | %s | %d | %d | %d / %d / %d | %d | %d | %d | %d | %d | %d | %s |",
		s.Name, s.Messages, s.Distinct, s.Valid, s.Invalid, s.RuleFailed, s.Processed, s.Failed, s.Conflicts, s.DLQDistinct, s.QueueLeft,
		s.anomalies(), map[bool]string{true: "yes", false: "**no**"}[s.Balanced()])
	return b.String()
}

// settle scans the tables, the dead-letter queue and the queue of s, logs the ledger
// table, fails t unless it balances, and returns it.
func (l *ledger) settle(t *testing.T, name string, s *e2eSetup) settlement {
	t.Helper()
	st := l.account(t, name, s)
	t.Log(st.String())
	if !st.Balanced() {
		l.explain(t, st)
		t.Errorf("ledger %s does not balance", name)
	}
	return st
}

// account computes the settlement without judging it.
func (l *ledger) account(t *testing.T, name string, s *e2eSetup) settlement {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	st := settlement{Name: name, Messages: l.messages, Distinct: len(l.units), Places: map[string]*place{}}
	ids := map[string]bool{}
	for _, u := range l.units {
		switch u.outcome {
		case engine.Valid:
			st.Valid++
		case engine.Invalid:
			st.Invalid++
		default:
			st.RuleFailed++
		}
		if u.eventID != "" {
			ids[u.eventID] = true
		}
	}
	st.EventIDs = len(ids)
	at := func(k string) *place {
		p := st.Places[k]
		if p == nil {
			p = &place{}
			st.Places[k] = p
		}
		return p
	}

	items := scanItems(t, s, &st)
	// The dead-letter queue, read without taking anything out.
	for _, m := range peekQueue(t, s.emu.SQSClient(), s.dlqURL) {
		k, _ := l.unitOf(aws.ToString(m.Body))
		at(k).dlq = append(at(k).dlq, m)
		st.DLQ++
	}
	st.QueueLeft = s.queueCount(t, s.queueURL)
	l.tally(&st, items)
	return st
}

// tally puts each item (by item key) in the place of the unit whose payload it holds,
// beside the dead letters already placed, and counts where every unit ended.
func (l *ledger) tally(st *settlement, items map[string][]map[string]ddbtypes.AttributeValue) {
	for ik, its := range items {
		uk := l.storedUnit(ik, its[0], st.Places)
		if st.Places[uk] == nil {
			st.Places[uk] = &place{}
		}
		st.Places[uk].items = append(st.Places[uk].items, its...)
	}
	for k, p := range st.Places {
		l.judge(st, k, p)
	}
	for k := range l.units {
		if p := st.Places[k]; p == nil || len(p.items)+len(p.dlq) == 0 {
			st.Missing++
		}
	}
}

// scanItems scans every table of s, counts the processed and failed items (and event
// ids in two processed items) into st, and returns the items by item key.
func scanItems(t *testing.T, s *e2eSetup, st *settlement) map[string][]map[string]ddbtypes.AttributeValue {
	t.Helper()
	out := map[string][]map[string]ddbtypes.AttributeValue{}
	processedIDs := map[string]int{}
	ddb := s.emu.DynamoDBClient()
	seen := map[string]bool{}
	for _, tbl := range s.rs.Tables() {
		if seen[tbl.Name] {
			continue
		}
		seen[tbl.Name] = true
		p := dynamodb.NewScanPaginator(ddb, &dynamodb.ScanInput{TableName: aws.String(tbl.Name)})
		for p.HasMorePages() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			page, err := p.NextPage(ctx)
			cancel()
			if err != nil {
				t.Fatalf("scan %s: %v", tbl.Name, err)
			}
			for _, it := range page.Items {
				key := map[string]string{}
				for _, k := range tbl.Key {
					key[k] = str(it[k])
				}
				out[keyString(tbl.Name, key)] = append(out[keyString(tbl.Name, key)], it)
				switch str(it["status"]) {
				case "processed":
					st.Processed++
					processedIDs[str(it["event_id"])]++
				case "failed":
					st.Failed++
				}
			}
		}
	}
	for _, n := range processedIDs {
		if n > 1 {
			st.IDTwice++
		}
	}
	return out
}

// storedUnit returns the unit whose payload the item it under item key ik holds: the
// only unit sent under ik; of several payloads, the one whose string members the item
// holds, else the only one without a dead letter. A key nobody sent is its own unit.
func (l *ledger) storedUnit(ik string, it map[string]ddbtypes.AttributeValue, places map[string]*place) string {
	units := l.byItem[ik]
	switch len(units) {
	case 0:
		return ik
	case 1:
		return units[0]
	}
	var match, undead []string
	for _, k := range units {
		same := true
		for name, v := range l.units[k].fields {
			same = same && str(it[name]) == v
		}
		if same {
			match = append(match, k)
		}
		if p := places[k]; p == nil || len(p.dlq) == 0 {
			undead = append(undead, k)
		}
	}
	switch {
	case len(match) == 1:
		return match[0]
	case len(undead) == 1:
		return undead[0]
	}
	return units[0]
}

// judge counts where the unit k ended (place p) into st, and what is wrong with it.
func (l *ledger) judge(st *settlement, k string, p *place) {
	switch {
	case len(p.dlq) > 0 && len(p.items) == 0 && p.conflict():
		st.Conflicts++
		st.DLQCopies += len(p.dlq) - 1
	case len(p.dlq) > 0 && len(p.items) == 0:
		st.DLQDistinct++
		st.DLQCopies += len(p.dlq) - 1
	case len(p.dlq) > 0:
		st.DLQCopies += len(p.dlq)
	}
	u := l.units[k]
	if u == nil {
		st.Unknown++
		return
	}
	if len(p.items)+len(p.dlq) > u.sent {
		// One message in two places (stored and dead-lettered, or dead-lettered
		// twice): a duplicate.
		st.InTwoPlaces++
	}
	for _, it := range p.items {
		want := map[engine.Outcome]string{engine.Valid: "processed", engine.Invalid: "failed"}[u.outcome]
		if str(it["status"]) != want {
			st.WrongPlace++
		}
	}
	if p.conflict() && !l.otherStored(k, st.Places) {
		// A conflict with no other payload stored under its key.
		st.WrongPlace++
	}
}

// otherStored reports whether a unit other than k, under k's item key, has its item.
func (l *ledger) otherStored(k string, places map[string]*place) bool {
	ik, _ := l.itemOf(l.units[k].body)
	for _, o := range l.byItem[ik] {
		if p := places[o]; o != k && p != nil && len(p.items) > 0 {
			return true
		}
	}
	return false
}

// explain logs a few of the units that keep the ledger from balancing.
func (l *ledger) explain(t *testing.T, st settlement) {
	t.Helper()
	shown := 0
	for k, u := range l.units {
		p := st.Places[k]
		n := 0
		if p != nil {
			n = len(p.items) + len(p.dlq)
		}
		if (n == 0 || n > u.sent) && shown < 10 {
			shown++
			t.Logf("  %s event %s (%s, sent %d times): in %d places%s", u.outcome, u.eventID, u.eventType, u.sent, n, l.why(k, p, st.Places))
		}
	}
	for k, p := range st.Places {
		if l.units[k] == nil && shown < 20 {
			shown++
			t.Logf("  not sent, but found: %q (%d items, %d dead letters)", k, len(p.items), len(p.dlq))
		}
	}
}

// why says more of a unit in no place or too many: replaced by another payload under
// its key, or stored and dead-lettered (with the dead letters' outcomes).
func (l *ledger) why(k string, p *place, places map[string]*place) string {
	switch {
	case p == nil || len(p.items)+len(p.dlq) == 0:
		if l.otherStored(k, places) {
			return " (its key holds another payload: silently replaced or dropped)"
		}
	case len(p.items) > 0 && len(p.dlq) > 0:
		var outs []string
		for _, m := range p.dlq {
			outs = append(outs, attrs(m)["outcome"])
		}
		return fmt.Sprintf(" (stored and dead-lettered as %s)", strings.Join(outs, ", "))
	}
	return ""
}

// peekQueue returns every message of a queue with its attributes, and leaves them all
// in the queue, visible again.
func peekQueue(t *testing.T, sq *sqs.Client, url string) []sqstypes.Message {
	t.Helper()
	var out []sqstypes.Message
	seen := map[string]int{} // message id → index in out
	ctx := context.Background()
	defer func() {
		for i := 0; i < len(out); i += 10 {
			in := &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(url)}
			for j, m := range out[i:min(i+10, len(out))] {
				in.Entries = append(in.Entries, sqstypes.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(j)), ReceiptHandle: m.ReceiptHandle})
			}
			res, err := sq.ChangeMessageVisibilityBatch(ctx, in)
			if err != nil {
				t.Errorf("release peeked messages: %v", err)
				continue
			}
			for _, f := range res.Failed {
				t.Errorf("release peeked message %s: %s %s", aws.ToString(f.Id), aws.ToString(f.Code), aws.ToString(f.Message))
			}
		}
	}()
	for empty := 0; empty < 2; {
		res, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10,
			WaitTimeSeconds: 1, VisibilityTimeout: 120, MessageAttributeNames: []string{"All"},
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
		if err != nil {
			t.Fatalf("peek %s: %v", url, err)
		}
		if len(res.Messages) == 0 {
			empty++
			continue
		}
		empty = 0
		for _, m := range res.Messages {
			// A message received again has a new receipt handle: only the newest one
			// can make it visible again.
			if i, ok := seen[aws.ToString(m.MessageId)]; ok {
				out[i] = m
				continue
			}
			seen[aws.ToString(m.MessageId)] = len(out)
			out = append(out, m)
		}
	}
	return out
}

// attrs returns a message's string attributes.
func attrs(m sqstypes.Message) map[string]string {
	out := map[string]string{}
	for k, v := range m.MessageAttributes {
		out[k] = aws.ToString(v.StringValue)
	}
	return out
}
