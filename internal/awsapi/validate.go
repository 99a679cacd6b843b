package awsapi

import (
	"strconv"
	"strings"
)

// checker collects request validation failures and words them as AWS's request validation
// does ("1 validation error detected: Value 'x' at 'name' failed to satisfy constraint: …"),
// so that the constraints of AWS's API model give the same answers here as there.
type checker struct {
	errs []string
}

// fail records a failure; value is the value as shown (quoted, or null), "" to show none.
func (c *checker) fail(value, field, constraint string) {
	var b strings.Builder
	b.WriteString("Value ")
	if value != "" {
		b.WriteString(value)
		b.WriteByte(' ')
	}
	b.WriteString("at '")
	b.WriteString(field)
	b.WriteString("' failed to satisfy constraint: ")
	b.WriteString(constraint)
	c.errs = append(c.errs, b.String())
}

// shown renders a value as AWS quotes it in a message; sensitive members are not shown.
func shown(v string, sensitive bool) string {
	if sensitive {
		return ""
	}
	return "'" + v + "'"
}

// required fails when a required member is missing.
func (c *checker) required(field string, present bool) bool {
	if !present {
		c.fail("null", field, "Member must not be null")
	}
	return present
}

// str checks an optional string member's length, in UTF-16 code units as AWS counts them.
func (c *checker) str(field string, v *string, min, max int, sensitive bool) {
	if v == nil {
		return
	}
	n := utf16Len(*v)
	if n < min {
		c.fail(shown(*v, sensitive), field, "Member must have length greater than or equal to "+strconv.Itoa(min))
	}
	if max > 0 && n > max {
		c.fail(shown(*v, sensitive), field, "Member must have length less than or equal to "+strconv.Itoa(max))
	}
}

// reqStr checks a required string member.
func (c *checker) reqStr(field string, v *string, min, max int, sensitive bool) {
	if c.required(field, v != nil) {
		c.str(field, v, min, max, sensitive)
	}
}

// enum checks an optional member against its allowed values.
func (c *checker) enum(field string, v *string, allowed ...string) {
	if v == nil {
		return
	}
	for _, a := range allowed {
		if *v == a {
			return
		}
	}
	c.fail(shown(*v, false), field, "Member must satisfy enum value set: ["+strings.Join(allowed, ", ")+"]")
}

// intRange checks an optional integer member.
func (c *checker) intRange(field string, v *int, min, max int) {
	if v == nil {
		return
	}
	s := strconv.Itoa(*v)
	if *v < min {
		c.fail(shown(s, false), field, "Member must have value greater than or equal to "+strconv.Itoa(min))
	}
	if *v > max {
		c.fail(shown(s, false), field, "Member must have value less than or equal to "+strconv.Itoa(max))
	}
}

// err returns the collected failures as one ValidationException, or nil.
func (c *checker) err() error {
	switch len(c.errs) {
	case 0:
		return nil
	case 1:
		return &apiError{Code: codeValidation, Message: "1 validation error detected: " + c.errs[0]}
	}
	return &apiError{Code: codeValidation,
		Message: strconv.Itoa(len(c.errs)) + " validation errors detected: " + strings.Join(c.errs, "; ")}
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
