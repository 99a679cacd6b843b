package lambda

import (
	"regexp"
	"strings"
)

// latest is the one version Stepline keeps of a function.
const latest = "$LATEST"

var (
	// namePattern is the model's FunctionName pattern, anchored: a name, a partial ARN
	// (ACCOUNT:function:NAME) or a full ARN, each with an optional qualifier.
	namePattern      = regexp.MustCompile(`^(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?$`)
	qualifierPattern = regexp.MustCompile(`^[a-zA-Z0-9$_-]+$`)
)

const namePatternText = `(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?`

// ref is a function named by an API call.
type ref struct {
	name      string
	qualifier string // "" or "$LATEST": the only version there is
}

// arn returns the function's unqualified ARN.
func (s *Service) arn(name string) string {
	return "arn:aws:lambda:" + s.o.Region + ":" + s.o.Account + ":function:" + name
}

// parseName resolves what a caller wrote as FunctionName (and, apart, Qualifier) the way
// Lambda does: a name, "ACCOUNT:function:NAME" or a full ARN, each optionally with
// ":QUALIFIER". A function of another account or region, or a version other than $LATEST, is
// not found here.
func (s *Service) parseName(raw, qualifier string) (ref, *Error) {
	if raw == "" || len(raw) > 140 || !namePattern.MatchString(raw) {
		return ref{}, errConstraint(raw, "functionName", "Member must satisfy regular expression pattern: "+namePatternText)
	}
	if qualifier != "" && (len(qualifier) > 128 || !qualifierPattern.MatchString(qualifier)) {
		return ref{}, errConstraint(qualifier, "qualifier", "Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)")
	}
	m := namePattern.FindStringSubmatch(raw)
	region := strings.TrimSuffix(m[3], ":")
	account := strings.TrimSuffix(m[8], ":")
	name, derived := m[10], m[12]
	if len(name) > 64 {
		return ref{}, errConstraint(raw, "functionName", "Member must have length less than or equal to 64")
	}
	if derived != "" && qualifier != "" && derived != qualifier {
		return ref{}, errInvalid("The derived qualifier from the function name does not match the specified qualifier.")
	}
	if qualifier == "" {
		qualifier = derived
	}
	if (region != "" && region != s.o.Region) || (account != "" && account != s.o.Account) {
		return ref{}, errNotFound(raw)
	}
	if qualifier != "" && qualifier != latest {
		return ref{}, errNotFound(s.arn(name) + ":" + qualifier)
	}
	return ref{name: name, qualifier: qualifier}, nil
}
