package service

import (
	"strings"
	"unicode/utf8"
)

// Resource types: the word after the account in a Step Functions ARN.
const (
	resStateMachine = "stateMachine"
	resExecution    = "execution"
	resExpress      = "express"
	resActivity     = "activity"
	resMapRun       = "mapRun"
)

// arn is a parsed Step Functions ARN: arn:PARTITION:states:REGION:ACCOUNT:TYPE:NAME[:MORE…].
type arn struct {
	Region, Account string
	Type            string
	// Names are the colon-separated parts after the type: [machine] for a state machine,
	// [machine, execution] for an execution, [activity] for an activity.
	Names []string
}

// parseARN parses s and checks that its resource type is one of types. Its messages follow
// AWS's InvalidArn wording.
func parseARN(s string, types ...string) (arn, error) {
	if !strings.HasPrefix(s, "arn:") {
		return arn{}, newError(CodeInvalidArn, nil, "Invalid Arn: 'Invalid ARN prefix: %s'", s)
	}
	parts := strings.Split(s, ":")
	if len(parts) < 7 || parts[1] == "" || parts[2] != "states" {
		return arn{}, newError(CodeInvalidArn, nil, "Invalid Arn: 'Invalid ARN format: %s'", s)
	}
	a := arn{Region: parts[3], Account: parts[4], Type: parts[5], Names: parts[6:]}
	want := -1
	for _, t := range types {
		if t == a.Type {
			want = namesIn(t)
		}
	}
	if want < 0 {
		if namesIn(a.Type) < 0 {
			return arn{}, newError(CodeInvalidArn, nil, "Invalid Arn: 'Invalid resource type: %s'", a.Type)
		}
		return arn{}, newError(CodeInvalidArn, nil, "Invalid Arn: 'Resource type not valid in this context: %s'", a.Type)
	}
	// A state machine ARN may carry a version or alias qualifier; executions of express
	// machines carry a run id. The exact count is checked where it matters (lookups fail).
	if len(a.Names) < want || len(a.Names) > want+1 {
		return arn{}, newError(CodeInvalidArn, nil, "Invalid Arn: 'Invalid ARN format: %s'", s)
	}
	for _, n := range a.Names {
		if n == "" || !utf8.ValidString(n) {
			return arn{}, newError(CodeInvalidArn, nil, "Invalid Arn: 'Invalid ARN format: %s'", s)
		}
	}
	return a, nil
}

// namesIn is how many name parts an ARN of a resource type has at least, -1 for unknown types.
func namesIn(typ string) int {
	switch typ {
	case resStateMachine, resActivity:
		return 1
	case resExecution, resMapRun:
		return 2
	case resExpress:
		return 3
	}
	return -1
}

func (s *Service) arnPrefix() string {
	return "arn:aws:states:" + s.o.Region + ":" + s.o.Account + ":"
}

// StateMachineArn returns the ARN of the state machine named name.
func (s *Service) StateMachineArn(name string) string {
	return s.arnPrefix() + resStateMachine + ":" + name
}

// ActivityArn returns the ARN of the activity named name.
func (s *Service) ActivityArn(name string) string {
	return s.arnPrefix() + resActivity + ":" + name
}

// validName reports whether name is a valid state machine, execution or activity name: 1 to
// 80 characters, none of them white space, brackets, wildcards, the specials "#%\^|~`$&,;:/,
// control characters, surrogates or non-characters.
func validName(name string) bool {
	if name == "" || utf16Len(name) > 80 || !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		switch {
		case r <= 0x20, r >= 0x7f && r <= 0xa0, r == 0x1680, r >= 0x2000 && r <= 0x200a,
			r == 0x2028, r == 0x2029, r == 0x202f, r == 0x205f, r == 0x3000, r == 0xfeff:
			// Control characters and Unicode white space.
			return false
		case r&0xfffe == 0xfffe, r >= 0xd800 && r <= 0xdfff:
			// Non-characters (U+FFFE, U+FFFF and their copies in every plane) and surrogates.
			return false
		case strings.ContainsRune("<>{}[]?*\"#%\\^|~`$&,;:/", r):
			return false
		}
	}
	return true
}

// utf16Len counts UTF-16 code units, which is how AWS's (Java) services measure lengths.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}
