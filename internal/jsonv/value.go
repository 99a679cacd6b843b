// Package jsonv is the JSON value model every other Stepline package shares.
//
// encoding/json loses what Step Functions users see: object key order and the written form of
// numbers. AWS keeps both (its outputs are compared byte for byte), so values here are plain Go
// values with two twists: objects are ordered (*Object) and numbers keep their text (Number).
//
// A Value is one of: nil (JSON null), bool, Number, string, []Value, *Object.
//
// Values are immutable once built and are shared freely between states, branches and history
// events: code that needs a changed value builds a new one (see Object.With).
package jsonv

import (
	"math"
	"strconv"
	"strings"
)

// Value is a JSON value: nil, bool, Number, string, []Value or *Object.
type Value = any

// Number is a JSON number kept in its written form, so that 1.50 stays 1.50 on output.
// The text is always a valid JSON number.
type Number string

// Float64 returns the number as a float64 (±Inf when it is out of range).
func (n Number) Float64() float64 {
	// For valid JSON number text ParseFloat fails only on range, and then returns ±Inf.
	f, _ := strconv.ParseFloat(string(n), 64)
	return f
}

// Int64 returns the number as an int64 and whether it is an integer that fits exactly.
// 2.0 and 1e3 count as integers, as they do for AWS's integer arguments.
func (n Number) Int64() (int64, bool) {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i, true
	}
	f := n.Float64()
	if f != math.Trunc(f) || math.IsInf(f, 0) || f < -(1<<63) || f >= 1<<63 {
		return 0, false
	}
	return int64(f), true
}

// IsInteger reports whether the number is written without a fraction or exponent.
func (n Number) IsInteger() bool {
	return !strings.ContainsAny(string(n), ".eE")
}

// Int returns the Number for i.
func Int(i int64) Number { return Number(strconv.FormatInt(i, 10)) }

// Float returns the Number for f in the shortest form that reads back as f, the way JavaScript
// and Java print doubles that are integers ("3", not "3e+00"). NaN and ±Inf have no JSON form;
// callers must reject them first.
func Float(f float64) Number {
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return Number(strconv.FormatFloat(f, 'f', -1, 64))
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	// Go writes 1e+21 and 1e-07; JSON allows both, JavaScript writes 1e+21 and 1e-7.
	if i := strings.Index(s, "e-0"); i >= 0 {
		s = s[:i+2] + s[i+3:]
	} else if i := strings.Index(s, "e+0"); i >= 0 {
		s = s[:i+2] + s[i+3:]
	}
	return Number(s)
}

// Member is one key and value of an Object.
type Member struct {
	Key   string
	Value Value
}

// Object is a JSON object that keeps its keys in order. The zero value is an empty object.
// Lookups are linear, which beats a map for the small objects state machines pass around;
// large objects get an index, built while the object is built: a finished object is only read,
// so many goroutines can share it (definitions' literals are shared by every execution).
type Object struct {
	members []Member
	index   map[string]int
}

const indexThreshold = 16

// NewObject returns an object with room for n members.
func NewObject(n int) *Object { return &Object{members: make([]Member, 0, n)} }

// ObjectOf builds an object from members; a repeated key keeps its first position and last value,
// as Jackson (and so AWS) does.
func ObjectOf(members ...Member) *Object {
	o := NewObject(len(members))
	for _, m := range members {
		o.Set(m.Key, m.Value)
	}
	return o
}

// Len returns the number of members.
func (o *Object) Len() int {
	if o == nil {
		return 0
	}
	return len(o.members)
}

// Members returns the members in order. The slice must not be modified.
func (o *Object) Members() []Member {
	if o == nil {
		return nil
	}
	return o.members
}

// Keys returns the keys in order.
func (o *Object) Keys() []string {
	keys := make([]string, len(o.Members()))
	for i, m := range o.Members() {
		keys[i] = m.Key
	}
	return keys
}

func (o *Object) find(key string) int {
	if o == nil {
		return -1
	}
	if o.index != nil {
		if i, ok := o.index[key]; ok {
			return i
		}
		return -1
	}
	for i := range o.members {
		if o.members[i].Key == key {
			return i
		}
	}
	return -1
}

// Get returns the value under key.
func (o *Object) Get(key string) (Value, bool) {
	if i := o.find(key); i >= 0 {
		return o.members[i].Value, true
	}
	return nil, false
}

// Has reports whether key is present.
func (o *Object) Has(key string) bool { return o.find(key) >= 0 }

// Set sets key to v while the object is being built: an existing key keeps its position.
// Objects already shared must not be changed; use With.
func (o *Object) Set(key string, v Value) {
	if i := o.find(key); i >= 0 {
		o.members[i].Value = v
		return
	}
	o.members = append(o.members, Member{key, v})
	if o.index != nil {
		o.index[key] = len(o.members) - 1
	} else {
		o.reindex()
	}
}

// reindex builds the index of an object that has grown large.
func (o *Object) reindex() {
	if len(o.members) <= indexThreshold {
		return
	}
	o.index = make(map[string]int, 2*len(o.members))
	for i, m := range o.members {
		o.index[m.Key] = i
	}
}

// With returns a copy of o with key set to v (replaced in place, or appended).
func (o *Object) With(key string, v Value) *Object {
	c := &Object{members: make([]Member, len(o.Members()), len(o.Members())+1)}
	copy(c.members, o.Members())
	c.reindex()
	c.Set(key, v)
	return c
}

// Without returns a copy of o without key.
func (o *Object) Without(key string) *Object {
	c := &Object{members: make([]Member, 0, len(o.Members()))}
	for _, m := range o.Members() {
		if m.Key != key {
			c.members = append(c.members, m)
		}
	}
	c.reindex()
	return c
}

// TypeName names the JSON type of v as AWS's messages do.
func TypeName(v Value) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case Number:
		return "number"
	case string:
		return "string"
	case []Value:
		return "array"
	case *Object:
		return "object"
	}
	return "unknown"
}

// Equal reports whether a and b are the same JSON value. Numbers compare by value (1.0 equals 1),
// object members regardless of order.
func Equal(a, b Value) bool {
	switch a := a.(type) {
	case nil:
		return b == nil
	case bool:
		bb, ok := b.(bool)
		return ok && a == bb
	case string:
		bs, ok := b.(string)
		return ok && a == bs
	case Number:
		bn, ok := b.(Number)
		return ok && (a == bn || a.Float64() == bn.Float64())
	case []Value:
		ba, ok := b.([]Value)
		if !ok || len(a) != len(ba) {
			return false
		}
		for i := range a {
			if !Equal(a[i], ba[i]) {
				return false
			}
		}
		return true
	case *Object:
		bo, ok := b.(*Object)
		if !ok || a.Len() != bo.Len() {
			return false
		}
		for _, m := range a.Members() {
			bv, ok := bo.Get(m.Key)
			if !ok || !Equal(m.Value, bv) {
				return false
			}
		}
		return true
	}
	return false
}
