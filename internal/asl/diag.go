package asl

import "strings"

// Diagnostic codes, as AWS's CreateStateMachine and ValidateStateMachineDefinition report them.
const (
	CodeInvalidJSON        = "INVALID_JSON_DESCRIPTION"
	CodeSchema             = "SCHEMA_VALIDATION_FAILED"
	CodeMissingTarget      = "MISSING_TRANSITION_TARGET"
	CodeMissingEndState    = "MISSING_END_STATE"
	CodeDuplicateState     = "DUPLICATE_STATE_NAME"
	CodeInvalidStateName   = "INVALID_STATE_NAME"
	CodeInvalidLabelName   = "INVALID_LABEL_NAME"
	CodeDuplicateLabel     = "DUPLICATE_LABEL_NAME"
	CodeInvalidJSONata     = "INVALID_JSONATA_EXPRESSION"
	CodeUnsupportedJSONata = "UNSUPPORTED_JSONATA_EXPRESSION"
)

// Diagnostic is one problem found in a definition. Location is a JSON-pointer-like path such as
// "/States/X/Resource" ("/" for the top level, "" when AWS gives none). Severity is always ERROR,
// so it is not stored.
type Diagnostic struct {
	Code     string
	Message  string
	Location string
}

// String renders the diagnostic as one item of AWS's InvalidDefinition message.
func (d Diagnostic) String() string {
	// AWS prints the location unconditionally in CreateStateMachine messages, "null" when a
	// diagnostic has none.
	loc := d.Location
	if loc == "" {
		loc = "null"
	}
	return d.Code + ": " + d.Message + " at " + loc
}

// DefinitionError is the error Parse returns for a definition AWS would refuse.
type DefinitionError struct {
	Diagnostics []Diagnostic
}

// Error returns AWS's InvalidDefinition message: every diagnostic, joined by ", ", quoted.
func (e *DefinitionError) Error() string {
	var b strings.Builder
	b.WriteString("Invalid State Machine Definition: '")
	for i, d := range e.Diagnostics {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(d.String())
	}
	b.WriteByte('\'')
	return b.String()
}

// javaSetOrder orders names as a java.util.HashSet of strings iterates them. AWS's validator
// lists missing fields in that order ("These fields are required: [States, StartAt]"), so
// reproducing its messages means reproducing the hash order.
func javaSetOrder(names []string) []string {
	size := 16
	for float64(len(names)) > float64(size)*0.75 {
		size *= 2
	}
	buckets := make([][]string, size)
	for _, n := range names {
		h := javaStringHash(n)
		h ^= h >> 16
		i := int(h & uint32(size-1))
		buckets[i] = append(buckets[i], n)
	}
	out := make([]string, 0, len(names))
	for _, b := range buckets {
		out = append(out, b...)
	}
	return out
}

// javaStringHash is Java's String.hashCode over UTF-16 code units.
func javaStringHash(s string) uint32 {
	var h uint32
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			h = 31*h + uint32(0xD800+(r>>10))
			h = 31*h + uint32(0xDC00+(r&0x3FF))
			continue
		}
		h = 31*h + uint32(r)
	}
	return h
}
