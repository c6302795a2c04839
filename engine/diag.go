package engine

import (
	"fmt"
	"sort"
)

// Severity of a diagnostic.
type Severity int

const (
	Error Severity = iota
	Warning
)

func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// Diagnostic is one problem found in events.d, with its position and a stable code.
type Diagnostic struct {
	Pos
	Severity Severity
	Code     string
	Message  string
}

// String formats the diagnostic as FILE:LINE:COL: MESSAGE [CODE]; warnings say so.
func (d Diagnostic) String() string {
	sev := ""
	if d.Severity == Warning {
		sev = "warning: "
	}
	return fmt.Sprintf("%s:%d:%d: %s%s [%s]", d.File, d.Line, d.Col, sev, d.Message, d.Code)
}

// Diagnostics is a list of diagnostics.
type Diagnostics []Diagnostic

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Count counts the errors and the warnings.
func (ds Diagnostics) Count() (errors, warnings int) {
	for _, d := range ds {
		if d.Severity == Error {
			errors++
		} else {
			warnings++
		}
	}
	return errors, warnings
}

// Sort orders diagnostics by file, line, column, code, severity, then message, so
// that equal diagnostics end up side by side.
func (ds Diagnostics) Sort() {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		if a.Severity != b.Severity {
			return a.Severity < b.Severity
		}
		return a.Message < b.Message
	})
}

// sortUnique sorts the diagnostics and drops repeats: a declaration that several
// versions share (through extends, or the defaults) is compiled for each of them, but
// each problem in it is one diagnostic.
func (ds Diagnostics) sortUnique() Diagnostics {
	ds.Sort()
	out := ds[:0]
	for _, d := range ds {
		if len(out) > 0 && d == out[len(out)-1] {
			continue
		}
		out = append(out, d)
	}
	return out
}
