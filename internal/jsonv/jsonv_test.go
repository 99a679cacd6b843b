package jsonv

import (
	"errors"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{}`, `{}`},
		{` { "b" : 1.50, "a":[1, 2e3, -0.0, true,false,null] } `, `{"b":1.50,"a":[1,2e3,-0.0,true,false,null]}`},
		{`{"a":1,"b":2,"a":3}`, `{"a":3,"b":2}`},
		{`"<&>\u00e9\/\n\u0001"`, `"<&>é/\n\u0001"`},
		{`"\ud83d\ude00"`, `"😀"`},
		{`"\ud83d"`, `"` + "\uFFFD" + `"`},
	} {
		v, err := ParseString(tc.in)
		if err != nil {
			t.Fatalf("Parse(%s): %v", tc.in, err)
		}
		if got := String(v); got != tc.want {
			t.Errorf("String(Parse(%s)) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		in        string
		line, col int
	}{
		{`{"a":}`, 1, 6},
		{"{\n  \"a\": 1,\n  \"b\" 2}", 3, 7},
		{`[1,2`, 1, 5},
		{`01`, 1, 1},
		{`{"a":1} x`, 1, 9},
		{`"abc`, 1, 5},
		{"\"a\tb\"", 1, 3},
		{``, 1, 1},
	} {
		_, err := ParseString(tc.in)
		var se *SyntaxError
		if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) {
			t.Fatalf("Parse(%q) = %v, want a SyntaxError", tc.in, err)
		}
		if se.Line != tc.line || se.Column != tc.col {
			t.Errorf("Parse(%q): %v, want line %d column %d", tc.in, err, tc.line, tc.col)
		}
	}
}

func TestFloat(t *testing.T) {
	for f, want := range map[float64]string{3: "3", -2.5: "-2.5", 1e21: "1e+21", 1e-7: "1e-7", 0.125: "0.125"} {
		if got := Float(f); string(got) != want {
			t.Errorf("Float(%v) = %s, want %s", f, got, want)
		}
	}
}

func TestEqual(t *testing.T) {
	a, _ := ParseString(`{"x":[1.0,{"y":null}],"z":"s"}`)
	b, _ := ParseString(`{"z":"s","x":[1,{"y":null}]}`)
	c, _ := ParseString(`{"z":"s","x":[1,{"y":false}]}`)
	if !Equal(a, b) || Equal(a, c) {
		t.Errorf("Equal is wrong")
	}
}

func TestObjectLargeIndex(t *testing.T) {
	o := NewObject(0)
	for i := range 40 {
		o.Set(string(Int(int64(i))), Int(int64(i)))
	}
	o2 := o.With("7", "seven")
	if v, _ := o.Get("7"); v != Number("7") {
		t.Errorf("With changed the original: %v", v)
	}
	if v, _ := o2.Get("7"); v != "seven" {
		t.Errorf("With lost the new value: %v", v)
	}
	if o.Without("3").Has("3") || o.Len() != 40 {
		t.Errorf("Without is wrong")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"a":[1,2,{"b":"c\u0041"}]}`, `-1.5e+3`, `"\ud83d\ude00"`, `[[[]]]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseString(s)
		if err != nil {
			return
		}
		text := String(v)
		v2, err := ParseString(text)
		if err != nil {
			t.Fatalf("re-parse of %q failed: %v", text, err)
		}
		if String(v2) != text {
			t.Fatalf("round trip changed %q", text)
		}
	})
}

// TestObjectSharedReads reads one large object from many goroutines, as executions of one
// definition read its literals; run with -race.
func TestObjectSharedReads(t *testing.T) {
	o := NewObject(0)
	for i := range 100 {
		o.Set(string(Int(int64(i))), Int(int64(i)))
	}
	done := make(chan bool)
	for range 4 {
		go func() {
			for i := range 100 {
				if v, ok := o.Get(string(Int(int64(i)))); !ok || v != Int(int64(i)) {
					t.Errorf("Get(%d) = %v, %v", i, v, ok)
				}
			}
			done <- true
		}()
	}
	for range 4 {
		<-done
	}
}
