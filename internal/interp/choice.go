package interp

import (
	"errors"
	"strings"
	"time"

	"github.com/stepline/stepline/internal/asl"
	"github.com/stepline/stepline/internal/asl/path"
	"github.com/stepline/stepline/internal/asl/sferr"
	"github.com/stepline/stepline/internal/jsonv"
)

// execChoice takes the first rule that holds, with its own Assign and Output, or else the
// Default with the state's.
func (r *run) execChoice(th *thread) {
	st := th.state
	for _, rule := range st.Choice.Choices {
		ok, err := evalRule(rule, r.scope(th, th.effective))
		if err != nil {
			r.fail(th, err)
			return
		}
		if ok {
			r.complete(th, th.effective, rule.Assign, rule.Output, rule.Next)
			return
		}
	}
	if st.Choice.Default == "" {
		r.fail(th, sferr.New(sferr.NoChoiceMatched, "No Matches!"))
		return
	}
	r.complete(th, th.effective, st.Assign, st.Output, st.Choice.Default)
}

func evalRule(rule *asl.ChoiceRule, sc *scope) (bool, error) {
	switch {
	case rule.And != nil:
		for _, sub := range rule.And {
			ok, err := evalRule(sub, sc)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case rule.Or != nil:
		for _, sub := range rule.Or {
			ok, err := evalRule(sub, sc)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case rule.Not != nil:
		ok, err := evalRule(rule.Not, sc)
		return !ok, err
	case rule.Condition != nil:
		// The Condition's Expr has checked that it is a boolean.
		v, err := rule.Condition.Eval(sc)
		return v == true, err
	}
	v, err := rule.Variable.Eval(sc)
	if err != nil {
		if errors.Is(err, path.ErrNotFound) {
			switch rule.Op {
			case asl.OpIsPresent:
				return rule.Value == false, nil
			case asl.OpIsNull, asl.OpIsNumeric, asl.OpIsString, asl.OpIsBoolean, asl.OpIsTimestamp:
				return false, nil
			}
		}
		return false, pathError(err)
	}
	want := rule.Value
	if rule.ValuePath != nil {
		want, err = rule.ValuePath.Eval(sc)
		if err != nil {
			return false, pathError(err)
		}
	}
	return compare(rule.Op, v, want), nil
}

func compare(op asl.Operator, v, want jsonv.Value) bool {
	switch op {
	case asl.OpIsPresent:
		return want == true
	case asl.OpIsNull:
		return (v == nil) == (want == true)
	case asl.OpIsNumeric:
		_, ok := v.(jsonv.Number)
		return ok == (want == true)
	case asl.OpIsString:
		_, ok := v.(string)
		return ok == (want == true)
	case asl.OpIsBoolean:
		_, ok := v.(bool)
		return ok == (want == true)
	case asl.OpIsTimestamp:
		s, ok := v.(string)
		if ok {
			_, ok = parseTimestamp(s)
		}
		return ok == (want == true)
	case asl.OpBooleanEquals:
		a, ok1 := v.(bool)
		b, ok2 := want.(bool)
		return ok1 && ok2 && a == b
	case asl.OpStringMatches:
		a, ok1 := v.(string)
		b, ok2 := want.(string)
		return ok1 && ok2 && wildcardMatch(b, a)
	}
	switch {
	case op >= asl.OpStringEquals && op <= asl.OpStringGreaterThanEquals:
		a, ok1 := v.(string)
		b, ok2 := want.(string)
		if !ok1 || !ok2 {
			return false
		}
		return ordered(op-asl.OpStringEquals, strings.Compare(a, b))
	case op >= asl.OpNumericEquals && op <= asl.OpNumericGreaterThanEquals:
		a, ok1 := v.(jsonv.Number)
		b, ok2 := want.(jsonv.Number)
		if !ok1 || !ok2 {
			return false
		}
		fa, fb := a.Float64(), b.Float64()
		c := 0
		if fa < fb {
			c = -1
		} else if fa > fb {
			c = 1
		}
		return ordered(op-asl.OpNumericEquals, c)
	case op >= asl.OpTimestampEquals && op <= asl.OpTimestampGreaterThanEquals:
		a, ok1 := v.(string)
		b, ok2 := want.(string)
		if !ok1 || !ok2 {
			return false
		}
		ta, ok1 := parseTimestamp(a)
		tb, ok2 := parseTimestamp(b)
		if !ok1 || !ok2 {
			return false
		}
		return ordered(op-asl.OpTimestampEquals, ta.Compare(tb))
	}
	return false
}

// ordered applies the n-th of Equals, LessThan, GreaterThan, LessThanEquals, GreaterThanEquals
// (the order of the Operator constants in each family) to a comparison result.
func ordered(n asl.Operator, c int) bool {
	switch n {
	case 0:
		return c == 0
	case 1:
		return c < 0
	case 2:
		return c > 0
	case 3:
		return c <= 0
	default:
		return c >= 0
	}
}

// wildcardMatch implements StringMatches: '*' matches any run of characters; "\*" and "\\"
// are a literal star and backslash.
func wildcardMatch(pattern, s string) bool {
	type tok struct {
		star bool
		c    byte
	}
	var toks []tok
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; {
		case c == '\\' && i+1 < len(pattern):
			i++
			toks = append(toks, tok{c: pattern[i]})
		case c == '*':
			toks = append(toks, tok{star: true})
		default:
			toks = append(toks, tok{c: c})
		}
	}
	// Classic greedy matching with backtracking to the last star.
	ti, si, starT, starS := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case ti < len(toks) && !toks[ti].star && toks[ti].c == s[si]:
			ti++
			si++
		case ti < len(toks) && toks[ti].star:
			starT, starS = ti, si
			ti++
		case starT >= 0:
			starS++
			ti, si = starT+1, starS
		default:
			return false
		}
	}
	for ti < len(toks) && toks[ti].star {
		ti++
	}
	return ti == len(toks)
}

// parseTimestamp accepts the RFC 3339 timestamps ASL compares and waits for.
func parseTimestamp(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}
