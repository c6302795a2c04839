package engine

import (
	"time"

	"gopkg.in/yaml.v3"
)

// The model: what events.d declares, with positions, before compilation.

// Field types of the events.d format.
const (
	typeString    = "string"
	typeInteger   = "integer"
	typeNumber    = "number"
	typeBool      = "bool"
	typeTimestamp = "timestamp"
	typeObject    = "object"
	typeList      = "list"
)

var fieldTypes = []string{typeString, typeInteger, typeNumber, typeBool, typeTimestamp, typeObject, typeList}

var fieldKeys = []string{"type", "required", "description", "enum", "pattern", "format",
	"min", "max", "gt", "lt", "min_length", "max_length", "fields", "items", "default"}

// fieldSpec is one declared field (or a list's item declaration, with an empty name).
type fieldSpec struct {
	name        string // the JSON member name (in CEL: celName(name))
	badType     bool   // an unknown type was written (and reported)
	file        *srcFile
	key         *yaml.Node            // the field's name node (nil for a list's items)
	node        *yaml.Node            // the field's value node
	at          map[string]*yaml.Node // value node of each key that was written
	typ         string
	required    bool
	description string
	enum        []any // string, int64 or float64 values
	pattern     string
	format      string
	min, max    *float64
	gt, lt      *float64
	minLen      *int64
	maxLen      *int64
	fields      []*fieldSpec // object
	items       *fieldSpec   // list
	def         *yaml.Node   // default: the value rules see when the field is absent
}

// where returns the position of key k of the field (the field itself when unset).
func (fs *fieldSpec) where(k string) *yaml.Node {
	if n, ok := fs.at[k]; ok {
		return n
	}
	return fs.node
}

// clone copies a field deeply so that extends can override it without touching the
// parent version.
func (fs *fieldSpec) clone() *fieldSpec {
	c := *fs
	c.at = make(map[string]*yaml.Node, len(fs.at))
	for k, v := range fs.at {
		c.at[k] = v
	}
	c.enum = append([]any(nil), fs.enum...)
	c.fields = nil
	for _, f := range fs.fields {
		c.fields = append(c.fields, f.clone())
	}
	if fs.items != nil {
		c.items = fs.items.clone()
	}
	return &c
}

// exprSpec is a named CEL expression in the YAML: a variable, a key or an attribute.
type exprSpec struct {
	name string
	expr string
	file *srcFile
	key  *yaml.Node // the name's node
	node *yaml.Node // the expression's node
}

// ruleSpec is one declared rule.
type ruleSpec struct {
	id          string
	expr        string
	message     string
	messageExpr string
	field       string
	severity    Severity
	file        *srcFile
	node        *yaml.Node // the rule's mapping
	idNode      *yaml.Node
	exprNode    *yaml.Node
	msgNode     *yaml.Node
	fieldNode   *yaml.Node
}

// retrySpec is a retry policy as written: every key optional, merged over defaults.
type retrySpec struct {
	file         *srcFile
	node         *yaml.Node
	at           map[string]*yaml.Node
	maxAttempts  *int64
	initialDelay *time.Duration
	maxDelay     *time.Duration
	multiplier   *float64
	jitter       *float64
}

// persistSpec is a persistence mapping as written; unset parts come from defaults.
type persistSpec struct {
	file          *srcFile
	node          *yaml.Node
	table         string
	tableNode     *yaml.Node
	rejectedTable string
	rejectedNode  *yaml.Node
	key           []exprSpec
	keyNode       *yaml.Node
	attributes    []exprSpec
}

type envelopeSpec struct {
	file                                        *srcFile
	node                                        *yaml.Node
	name                                        string
	nameNode                                    *yaml.Node
	isDefault                                   bool
	typeField, versionField, idField, bodyField string
	// Where the version comes from: versionField names a header field, or (with a dot)
	// a path into the body whose members after the body field are versionPath; or
	// version is a constant. Exactly one is set when the envelope parsed.
	versionPath []string
	version     string
	at          map[string]*yaml.Node
	fields      []*fieldSpec
	variables   []exprSpec
	rules       []*ruleSpec
}

type defaultsSpec struct {
	file      *srcFile
	node      *yaml.Node
	retry     *retrySpec
	persist   *persistSpec
	costLimit *int64
	costNode  *yaml.Node
}

// Compatibility modes between a version and the one it follows.
const (
	compatNone     = "none"
	compatBackward = "backward"
	compatForward  = "forward"
	compatFull     = "full"
)

var compatModes = []string{compatNone, compatBackward, compatForward, compatFull}

type typeSpec struct {
	compat      string
	compatNode  *yaml.Node
	name        string
	file        *srcFile
	node        *yaml.Node
	nameNode    *yaml.Node
	description string
	retry       *retrySpec
	persist     *persistSpec
	versions    []*versionSpec
}

type versionSpec struct {
	name        string
	typ         *typeSpec
	file        *srcFile
	key         *yaml.Node
	node        *yaml.Node
	extends     string
	extendsNode *yaml.Node
	description string
	fields      []*fieldSpec
	variables   []exprSpec
	rules       []*ruleSpec
	resolved    bool // extends applied
	// broken: its extends (or an ancestor's) names no version or forms a cycle, which
	// is reported; its body is unknown, so its expressions are not compiled.
	broken bool
}
