package engine

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
)

// Message metadata in CEL: the variable message, an object of a fixed type whose
// fields are read from the Message Evaluate was given (zero values when none was), and
// the analysis that tells the worker which SQS message attributes the rules read.

// messageTypeName is the CEL type of the variable message.
const messageTypeName = "eventproc.Message"

// messageField is one field of message: its CEL type and how it is read.
type messageField struct {
	name string
	typ  *types.Type
	get  func(mv *messageVal) ref.Val
}

var stringMap = types.NewMapType(types.StringType, types.StringType)

// epoch is message.sent_at and message.sns_timestamp when they are not known.
var epoch = time.Unix(0, 0).UTC()

func timeOrEpoch(t time.Time) ref.Val {
	if t.IsZero() {
		return types.Timestamp{Time: epoch}
	}
	return types.Timestamp{Time: t}
}

func stringMapVal(m map[string]string) ref.Val {
	return types.NewStringStringMap(types.DefaultTypeAdapter, m)
}

// messageFields are the fields of message, in the order docs/events.d.md lists them.
var messageFields = []messageField{
	{"id", types.StringType, func(mv *messageVal) ref.Val { return types.String(mv.m.ID) }},
	{"attributes", stringMap, func(mv *messageVal) ref.Val { return stringMapVal(mv.m.Attributes) }},
	{"sent_at", types.TimestampType, func(mv *messageVal) ref.Val { return timeOrEpoch(mv.m.SentAt) }},
	{"receive_count", types.IntType, func(mv *messageVal) ref.Val { return types.Int(mv.m.ReceiveCount) }},
	{"group_id", types.StringType, func(mv *messageVal) ref.Val { return types.String(mv.m.GroupID) }},
	{"sequence_number", types.StringType, func(mv *messageVal) ref.Val { return types.String(mv.m.SequenceNumber) }},
	{"deduplication_id", types.StringType, func(mv *messageVal) ref.Val { return types.String(mv.m.DeduplicationID) }},
	{"topic_arn", types.StringType, func(mv *messageVal) ref.Val { return types.String(mv.m.TopicARN) }},
	{"sns_message_id", types.StringType, func(mv *messageVal) ref.Val { return types.String(mv.m.SNSMessageID) }},
	{"sns_attributes", stringMap, func(mv *messageVal) ref.Val { return stringMapVal(mv.m.SNSAttributes) }},
	{"sns_subject", types.StringType, func(mv *messageVal) ref.Val { return types.String(mv.m.SNSSubject) }},
	{"sns_timestamp", types.TimestampType, func(mv *messageVal) ref.Val { return timeOrEpoch(mv.m.SNSTimestamp) }},
	{"transport", types.StringType, func(mv *messageVal) ref.Val { return types.String(mv.transport) }},
}

// messageSchema is message's type for the CEL type provider: an object schema whose
// fields are always set, read from a *messageVal. Built once, shared by every ruleset.
var messageSchema = sync.OnceValue(func() *objSchema {
	o := &objSchema{name: messageTypeName, byName: map[string]int{}, byCEL: map[string]int{}, celType: types.NewObjectType(messageTypeName)}
	for i, mf := range messageFields {
		f := &fieldSchema{name: mf.name, cel: mf.name, path: "message." + mf.name, required: true, celType: mf.typ}
		f.ft = &types.FieldType{
			Type:  mf.typ,
			IsSet: func(target any) bool { _, ok := target.(*messageVal); return ok },
			GetFrom: func(target any) (any, error) {
				mv, ok := target.(*messageVal)
				if !ok {
					return nil, fmt.Errorf("no such field '%s'", mf.name)
				}
				return mf.get(mv), nil
			},
		}
		o.byName[mf.name], o.byCEL[mf.name] = i, i
		o.fields = append(o.fields, f)
	}
	return o
})

// messageVar declares the variable message.
func messageVar() cel.EnvOption { return cel.Variable("message", messageSchema().celType) }

// zeroMessage is what message reads when Evaluate was given no Message.
var zeroMessage Message

// messageVal is the CEL value of message: the Message, and the transport the body was
// read with. It lives in the pooled evalState, so serving it allocates nothing.
type messageVal struct {
	m         *Message
	transport string
}

var (
	_ ref.Val            = (*messageVal)(nil)
	_ traits.Indexer     = (*messageVal)(nil)
	_ traits.FieldTester = (*messageVal)(nil)
)

// Get reads a field by name, for expressions that lost the static type (dyn(message).id).
func (mv *messageVal) Get(index ref.Val) ref.Val {
	name, ok := index.(types.String)
	if !ok {
		return types.ValOrErr(index, "no such overload")
	}
	i, ok := messageSchema().byName[string(name)]
	if !ok {
		return types.NewErr("no such key: %s", string(name))
	}
	return messageFields[i].get(mv)
}

// IsSet reports whether message has a field: every declared one is always set.
func (mv *messageVal) IsSet(field ref.Val) ref.Val {
	name, ok := field.(types.String)
	if !ok {
		return types.ValOrErr(field, "no such overload")
	}
	_, ok = messageSchema().byName[string(name)]
	return types.Bool(ok)
}

func (mv *messageVal) ConvertToNative(t reflect.Type) (any, error) {
	if t == reflect.TypeOf(map[string]any(nil)) || t.Kind() == reflect.Interface {
		return mv.native(), nil
	}
	return nil, fmt.Errorf("cannot convert %s to %v", messageTypeName, t)
}

func (mv *messageVal) ConvertToType(t ref.Type) ref.Val {
	if t == types.TypeType {
		return messageSchema().celType
	}
	if t.TypeName() == messageTypeName {
		return mv
	}
	return types.NewErr("type conversion error from '%s' to '%s'", messageTypeName, t.TypeName())
}

func (mv *messageVal) Equal(other ref.Val) ref.Val {
	o, ok := other.(*messageVal)
	return types.Bool(ok && reflect.DeepEqual(mv.native(), o.native()))
}

func (mv *messageVal) Type() ref.Type { return messageSchema().celType }
func (mv *messageVal) Value() any     { return mv }

// native converts message to plain Go values (for a persistence attribute).
func (mv *messageVal) native() map[string]any {
	out := make(map[string]any, len(messageFields))
	for _, f := range messageFields {
		out[f.name] = toNative(f.get(mv))
	}
	return out
}

// Reads of message.attributes: which SQS message attributes the rules need.

// attrReads collects, over every compiled expression, the SQS message attributes read
// by a constant name, and whether one is read otherwise (then all are needed).
type attrReads struct {
	mu    sync.Mutex
	names map[string]bool
	all   bool
}

// note records the reads of message.attributes in a checked expression.
func (r *attrReads) note(a *cel.Ast) {
	w := &attrWalker{names: map[string]bool{}, bound: map[string]int{}}
	w.expr(a.NativeRep().Expr())
	if len(w.names) == 0 && !w.all {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.names == nil {
		r.names = map[string]bool{}
	}
	for n := range w.names {
		r.names[n] = true
	}
	r.all = r.all || w.all
}

// list is MessageAttributeNames' answer: nil, ["All"], or the sorted names.
func (r *attrReads) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.all:
		return []string{"All"}
	case len(r.names) == 0:
		return nil
	}
	return slices.Sorted(maps.Keys(r.names))
}

// attrWalker walks a checked expression for reads of message.attributes: by a
// constant name (message.attributes["x"], message.attributes.x, "x" in
// message.attributes, has(message.attributes.x), message.attributes[?"x"],
// message.attributes.?x) they are names; any other use of the map, or of message
// whole, needs all of them.
type attrWalker struct {
	names map[string]bool
	all   bool
	bound map[string]int // comprehension variables in scope
}

// isMessage reports whether e is the variable message (not a loop variable so named).
func (w *attrWalker) isMessage(e celast.Expr) bool {
	return e.Kind() == celast.IdentKind && e.AsIdent() == "message" && w.bound["message"] == 0
}

// isAttrs reports whether e is message.attributes.
func (w *attrWalker) isAttrs(e celast.Expr) bool {
	return e.Kind() == celast.SelectKind && !e.AsSelect().IsTestOnly() &&
		e.AsSelect().FieldName() == "attributes" && w.isMessage(e.AsSelect().Operand())
}

// constName is the string literal e is, if it is one.
func constName(e celast.Expr) (string, bool) {
	if e.Kind() != celast.LiteralKind {
		return "", false
	}
	s, ok := e.AsLiteral().(types.String)
	return string(s), ok
}

func (w *attrWalker) expr(e celast.Expr) {
	switch e.Kind() {
	case celast.IdentKind:
		if w.isMessage(e) {
			w.all = true // message whole: its attributes go with it
		}
		return
	case celast.SelectKind:
		s := e.AsSelect()
		switch {
		case w.isAttrs(e):
			w.all = true
		case w.isAttrs(s.Operand()):
			w.names[s.FieldName()] = true
		case !w.isMessage(s.Operand()):
			w.expr(s.Operand())
		}
		return
	case celast.CallKind:
		if w.call(e.AsCall()) {
			return
		}
	case celast.ComprehensionKind:
		w.comprehension(e.AsComprehension())
		return
	}
	for _, x := range children(e) {
		w.expr(x)
	}
}

// call records a read by a constant name ([_], [?_], in, ?.) and reports whether it
// was one.
func (w *attrWalker) call(c celast.CallExpr) bool {
	args := c.Args()
	if len(args) != 2 {
		return false
	}
	m, k := args[0], args[1]
	switch c.FunctionName() {
	case "_[_]", "_[?_]", "_?._":
	case "@in":
		m, k = args[1], args[0]
	default:
		return false
	}
	name, isConst := constName(k)
	if !isConst || !w.isAttrs(m) {
		return false
	}
	w.names[name] = true
	return true
}

func (w *attrWalker) comprehension(cx celast.ComprehensionExpr) {
	w.expr(cx.IterRange())
	w.expr(cx.AccuInit())
	names := []string{cx.IterVar(), cx.AccuVar()}
	if cx.HasIterVar2() {
		names = append(names, cx.IterVar2())
	}
	for _, n := range names {
		w.bound[n]++
	}
	w.expr(cx.LoopCondition())
	w.expr(cx.LoopStep())
	w.expr(cx.Result())
	for _, n := range names {
		w.bound[n]--
	}
}
