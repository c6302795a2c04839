package engine

import _ "embed"

// FormatSchema is a JSON Schema (draft-07) of the events.d file format, for editors
// (the shipped files name it in a yaml-language-server modeline).
//
//go:embed eventsd.schema.json
var FormatSchema []byte
