package engine

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

const testTopic = "arn:aws:sns:us-east-1:000000000000:orders"

// snsFauxqs wraps event as fauxqs delivers an SNS notification to an SQS queue without
// raw delivery (dist/sns/actions/publish.js): compact JSON, Subject null when none,
// MessageAttributes always present as {name: {Type, Value}}.
func snsFauxqs(event string, attrs map[string]string) string {
	ma := map[string]map[string]string{}
	for k, v := range attrs {
		ma[k] = map[string]string{"Type": "String", "Value": v}
	}
	b, err := json.Marshal(struct {
		Type              string                       `json:"Type"`
		MessageID         string                       `json:"MessageId"`
		TopicArn          string                       `json:"TopicArn"`
		Subject           *string                      `json:"Subject"`
		Message           string                       `json:"Message"`
		Timestamp         string                       `json:"Timestamp"`
		SignatureVersion  string                       `json:"SignatureVersion"`
		Signature         string                       `json:"Signature"`
		SigningCertURL    string                       `json:"SigningCertURL"`
		UnsubscribeURL    string                       `json:"UnsubscribeURL"`
		MessageAttributes map[string]map[string]string `json:"MessageAttributes"`
	}{"Notification", "6a1b7c2d-0000-4000-8000-000000000001", testTopic, nil, event, "2026-02-04T17:00:16.123Z",
		"1", "EXAMPLE", "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
		"https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe", ma})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// snsAWS wraps event as AWS documents an SNS notification delivered to SQS: indented,
// " : " between names and values, a Subject, a Binary attribute in base64.
func snsAWS(event string) string {
	b, err := json.MarshalIndent(map[string]any{
		"Type":             "Notification",
		"MessageId":        "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
		"TopicArn":         testTopic,
		"Subject":          "order update",
		"Message":          event,
		"Timestamp":        "2026-02-04T17:00:16.123Z",
		"SignatureVersion": "1",
		"Signature":        "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQvi2egU3N858fiTDN6bkkOxYDVrY0Ad8L10Hs3zH81mtnPk5uvvolIC1CXGu43obcgFxeL3khZl8IKvO61GWB6jI9b5+gLPoBc1Q=",
		"SigningCertURL":   "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem",
		"UnsubscribeURL":   "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + testTopic + ":c9135db0",
		"MessageAttributes": map[string]any{
			"tier": map[string]string{"Type": "String", "Value": "gold"},
			"sig":  map[string]string{"Type": "Binary", "Value": "AQID"},
		},
	}, "", "  ")
	if err != nil {
		panic(err)
	}
	return strings.ReplaceAll(string(b), `": `, `" : `)
}

// sameVerdict reports how two verdicts of the same event differ in what is stored and
// decided (not in Message, which says how each came).
func sameVerdict(a, b *Verdict) string {
	var diffs []string
	cmp := func(what string, x, y any) {
		if !reflect.DeepEqual(x, y) {
			diffs = append(diffs, what)
		}
	}
	cmp("outcome", a.Outcome, b.Outcome)
	cmp("type", a.EventType, b.EventType)
	cmp("version", a.Version, b.Version)
	cmp("id", a.EventID, b.EventID)
	cmp("violations", a.Violations, b.Violations)
	cmp("warnings", a.Warnings, b.Warnings)
	cmp("reason", a.Reason(), b.Reason())
	cmp("persist", a.Persist, b.Persist)
	cmp("fields", a.Fields, b.Fields)
	cmp("body", a.Body, b.Body)
	cmp("rejected", a.Rejected, b.Rejected)
	cmp("header", a.Header, b.Header)
	cmp("retry", a.Retry, b.Retry)
	cmp("payload hash", a.PayloadHash, b.PayloadHash)
	return strings.Join(diffs, ", ")
}

// TestTransportsGiveTheSameVerdict: an event sent raw and the same event wrapped in an
// SNS notification (as fauxqs and as AWS write one), under auto and under sns, get the
// same verdict, key and item.
func TestTransportsGiveTheSameVerdict(t *testing.T) {
	rs := shipped(t)
	ctx := context.Background()
	events := map[string]string{
		"valid":          benchOrder,
		"valid v2":       msg("v2", `{"order_id":"o","user_id":"u","total":10,"items_count":1,"status":"pending","currency":"EUR","items":[{"sku":"a","quantity":1,"unit_price":10}]}`),
		"violations":     msg("v1", `{"order_id":"","user_id":"u","total":-1,"items_count":1,"status":"s"}`),
		"missing field":  msg("v1", `{"order_id":"o","user_id":"u","total":1,"status":"s"}`),
		"unknown type":   strings.Replace(benchOrder, "order.placed", "order.lost", 1),
		"not json":       `{"event_id":`,
		"not an object":  `[1,2]`,
		"unicode":        msg("v1", `{"order_id":"o\u00e9 😀","user_id":"u","total":1,"items_count":1,"status":"s"}`),
		"mentions topic": msg("v1", `{"order_id":"o","user_id":"u","total":1,"items_count":1,"status":"s","TopicArn":"x"}`),
	}
	for name, event := range events {
		raw := rs.Evaluate(ctx, event, ForStorage, WithTransport(TransportRaw))
		if raw.PayloadHash != PayloadHash(event) || len(raw.PayloadHash) != 64 {
			t.Errorf("%s: payload hash %q, want %q", name, raw.PayloadHash, PayloadHash(event))
		}
		if d := sameVerdict(raw, rs.Evaluate(ctx, event, ForStorage)); d != "" {
			t.Errorf("%s: raw under auto differs from raw: %s", name, d)
		}
		for wrapName, wrapped := range map[string]string{"fauxqs": snsFauxqs(event, map[string]string{"tier": "gold"}), "aws": snsAWS(event)} {
			for _, tr := range []Transport{TransportAuto, TransportSNS} {
				v := rs.Evaluate(ctx, wrapped, ForStorage, WithTransport(tr))
				if d := sameVerdict(raw, v); d != "" {
					t.Errorf("%s wrapped as %s under %s: differs from raw in %s\nraw: %s\nsns: %s", name, wrapName, tr, d, raw.Reason(), v.Reason())
				}
				if v.Message == nil || v.Message.TopicARN != testTopic || v.Message.Transport != TransportSNS {
					t.Errorf("%s wrapped as %s under %s: Message %+v, want the topic and transport sns", name, wrapName, tr, v.Message)
				}
			}
		}
	}
	if raw := rs.Evaluate(ctx, benchOrder); raw.Message != nil {
		t.Errorf("a raw event without metadata got a Message: %+v", raw.Message)
	}
}

// TestSNSMetadata: what the sns transport reads from the notification lands in
// Verdict.Message, over the metadata the caller gave, which Evaluate does not modify.
func TestSNSMetadata(t *testing.T) {
	rs := shipped(t)
	given := &Message{ID: "sqs-1", Attributes: map[string]string{"a": "1"}, ReceiveCount: 2}
	v := rs.Evaluate(context.Background(), snsAWS(benchOrder), WithMessage(given))
	if v.Outcome != Valid {
		t.Fatalf("got %s: %s", v.Outcome, v.Reason())
	}
	want := Message{ID: "sqs-1", Attributes: map[string]string{"a": "1"}, ReceiveCount: 2,
		TopicARN: testTopic, SNSMessageID: "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
		SNSAttributes: map[string]string{"tier": "gold", "sig": "AQID"}, SNSSubject: "order update",
		SNSTimestamp: time.Date(2026, 2, 4, 17, 0, 16, 123e6, time.UTC), Transport: TransportSNS}
	if !reflect.DeepEqual(*v.Message, want) {
		t.Errorf("Message\n got %+v\nwant %+v", *v.Message, want)
	}
	if given.TopicARN != "" || given.Transport != "" {
		t.Errorf("Evaluate modified the given Message: %+v", given)
	}
	raw := rs.Evaluate(context.Background(), benchOrder, WithMessage(given))
	if raw.Message == nil || raw.Message.Transport != TransportRaw || raw.Message.ID != "sqs-1" {
		t.Errorf("raw Message %+v, want a copy with transport raw", raw.Message)
	}
	f := rs.Evaluate(context.Background(), snsFauxqs(benchOrder, nil))
	if f.Message == nil || f.Message.SNSSubject != "" || f.Message.SNSAttributes != nil {
		t.Errorf("fauxqs notification with a null Subject and no attributes: Message %+v", f.Message)
	}
}

// TestMalformedWrappers: a body its transport cannot read is Invalid with a
// *TransportError that says what is wrong, and its rejected item is keyed by the whole
// body, as an undecodable one is; under auto, what is not recognisably a notification
// is judged raw.
func TestMalformedWrappers(t *testing.T) {
	rs := shipped(t)
	inner, _ := json.Marshal(benchOrder)
	head := `{"Type":"Notification","TopicArn":"` + testTopic + `"`
	cases := []struct {
		name, body string
		tr         Transport
		reason     string // "" : not a transport error
	}{
		{"not json", `{"Type":"Notification",`, TransportSNS, "sns notification: not JSON"},
		{"empty", ``, TransportSNS, "sns notification: not JSON"},
		{"array", `[{"Type":"Notification"}]`, TransportSNS, "sns notification: not a JSON object, but an array"},
		{"null", `null`, TransportSNS, "sns notification: not a JSON object, but null"},
		{"string", `"x"`, TransportSNS, "sns notification: not a JSON object, but a string"},
		{"raw event", benchOrder, TransportSNS, "sns notification: Type is missing"},
		{"type not notification", `{"Type":"SubscriptionConfirmation","TopicArn":"a","Message":"m"}`, TransportSNS, `sns notification: Type is "SubscriptionConfirmation", not "Notification"`},
		{"type a number", `{"Type":1,"TopicArn":"a","Message":"m"}`, TransportSNS, "sns notification: Type is a number, not a string"},
		{"topic missing", `{"Type":"Notification","Message":"m"}`, TransportSNS, "sns notification: TopicArn is missing"},
		{"message missing", head + `}`, TransportSNS, "sns notification: Message is missing"},
		{"message null", head + `,"Message":null}`, TransportSNS, "sns notification: Message is missing"},
		{"message a number", head + `,"Message":12}`, TransportSNS, "sns notification: Message is a number, not a string"},
		{"message an object", head + `,"Message":` + benchOrder + `}`, TransportSNS, "sns notification: Message is an object, not a string"},
		{"message an array", head + `,"Message":[]}`, TransportSNS, "sns notification: Message is an array, not a string"},
		{"message a bool", head + `,"Message":true}`, TransportSNS, "sns notification: Message is a bool, not a string"},
		{"message id a number", head + `,"Message":` + string(inner) + `,"MessageId":7}`, TransportSNS, "sns notification: MessageId is a number, not a string"},
		{"bad timestamp", head + `,"Message":` + string(inner) + `,"Timestamp":"yesterday"}`, TransportSNS, `sns notification: Timestamp "yesterday" is not an RFC 3339 time`},
		{"attributes a list", head + `,"Message":` + string(inner) + `,"MessageAttributes":[]}`, TransportSNS, "sns notification: MessageAttributes is an array, not an object"},
		{"attribute a string", head + `,"Message":` + string(inner) + `,"MessageAttributes":{"a":"b"}}`, TransportSNS, "sns notification: MessageAttributes.a is a string, not an object with Type and Value"},
		{"attribute without value", head + `,"Message":` + string(inner) + `,"MessageAttributes":{"a":{"Type":"String"}}}`, TransportSNS, "sns notification: MessageAttributes.a: Value is missing"},
		{"duplicate member", head + `,"Message":` + string(inner) + `,"Message":"{}"}`, TransportSNS, `sns notification: not JSON (duplicate key "Message" at byte`},
		{"trailing data", head + `,"Message":` + string(inner) + `} x`, TransportSNS, "sns notification: not JSON (data after the JSON object at byte"},
		{"number then data", `1 2`, TransportSNS, "sns notification: not JSON (data after the JSON value at byte"},
		{"case folded", `{"type":"Notification","topicArn":"a","message":"m"}`, TransportSNS, "sns notification: Type is missing"},
		{"auto: message missing", head + `}`, TransportAuto, "sns notification: Message is missing"},
		{"auto: message a number", head + `,"Message":12}`, TransportAuto, "sns notification: Message is a number, not a string"},
		{"auto: message an object", head + `,"Message":{}}`, TransportAuto, "sns notification: Message is an object, not a string"},
		{"auto: no TopicArn is raw", `{"Type":"Notification","Message":` + string(inner) + `}`, TransportAuto, ""},
		{"auto: TopicArn a number is raw", `{"Type":"Notification","TopicArn":5,"Message":` + string(inner) + `}`, TransportAuto, ""},
		{"auto: another Type is raw", `{"Type":"SubscriptionConfirmation","TopicArn":"a","Message":"m"}`, TransportAuto, ""},
		{"auto: array mentioning TopicArn is raw", `["TopicArn"]`, TransportAuto, ""},
		{"auto: broken JSON mentioning TopicArn is raw", `{"TopicArn":`, TransportAuto, ""},
		{"unknown transport", benchOrder, Transport("kafka"), `unknown transport "kafka"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := rs.Evaluate(context.Background(), c.body, ForStorage, WithTransport(c.tr))
			var te *TransportError
			isTE := errors.As(v.Err, &te)
			if c.reason == "" {
				if isTE {
					t.Fatalf("got a transport error %q, want the body judged", v.Err)
				}
				return
			}
			if v.Outcome != Invalid || !isTE {
				t.Fatalf("got %s (%v), want invalid with a transport error", v.Outcome, v.Err)
			}
			if !strings.HasPrefix(v.Reason(), c.reason) {
				t.Errorf("reason %q, want %q", v.Reason(), c.reason)
			}
			want := rs.Rejection(c.body)
			if v.Rejected == nil || !reflect.DeepEqual(*v.Rejected, want) || v.Header != nil {
				t.Errorf("rejected %+v header %v, want %+v and no header", v.Rejected, v.Header, want)
			}
		})
	}
}

// TestSNSDecodeErrorsAsRaw: under sns, an outer body over the size limit or not UTF-8 is
// a DecodeError, as it is raw.
func TestSNSDecodeErrorsAsRaw(t *testing.T) {
	rs := shipped(t)
	for _, body := range []string{"{\"Type\":\"\xff\"}", `{"Message":"` + strings.Repeat("x", 1<<20) + `"}`} {
		v := rs.Evaluate(context.Background(), body, WithTransport(TransportSNS))
		var de *DecodeError
		if !errors.As(v.Err, &de) || v.Outcome != Invalid {
			t.Errorf("got %s %v, want a decode error", v.Outcome, v.Err)
		}
	}
}

// BenchmarkEvaluateOrderV1SNS is BenchmarkEvaluateOrderV1 with the event wrapped in
// an SNS notification, read under auto: the cost of unwrapping.
func BenchmarkEvaluateOrderV1SNS(b *testing.B) {
	rs := shipped(b)
	ctx := context.Background()
	body := snsAWS(benchOrder)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if v := rs.Evaluate(ctx, body); v.Outcome != Valid {
			b.Fatal(v.Reason())
		}
	}
}

// BenchmarkUnwrapRaw is what auto adds to a raw body's evaluation: the scan that finds
// it is not a notification.
func BenchmarkUnwrapRaw(b *testing.B) {
	for b.Loop() {
		if _, n, err := unwrap(benchOrder, TransportAuto); n != nil || err != nil {
			b.Fatal("raw body unwrapped")
		}
	}
}

// wideObject is a 1 MiB JSON object of about 100,000 members, one of them TopicArn: auto
// reads it as a possible notification.
func wideObject() string {
	var b strings.Builder
	b.WriteString(`{"TopicArn":1`)
	for i := 0; b.Len() < 1<<20-20; i++ {
		b.WriteString(`,"` + strconv.Itoa(i) + `":0`)
	}
	b.WriteString("}")
	return b.String()
}

// TestUnwrapWideObject: a 1 MiB object of 100,000 members is judged under every
// transport (its duplicate-key check is linear: BenchmarkUnwrapWideObject).
func TestUnwrapWideObject(t *testing.T) {
	rs := shipped(t)
	body := wideObject()
	for tr, want := range map[Transport]string{TransportAuto: "header.event_id.required", TransportSNS: "sns notification: Type is missing"} {
		if v := rs.Evaluate(context.Background(), body, WithTransport(tr)); v.Outcome != Invalid || !strings.Contains(v.Reason(), want) {
			t.Errorf("%s: %s %.100s, want invalid: %s", tr, v.Outcome, v.Reason(), want)
		}
	}
}

func BenchmarkUnwrapWideObject(b *testing.B) {
	body := wideObject()
	for b.Loop() {
		if _, _, err := unwrap(body, TransportSNS); err == nil {
			b.Fatal("a wide object unwrapped")
		}
	}
}
