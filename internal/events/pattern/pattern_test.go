package pattern

import (
	"errors"
	"strings"
	"testing"
)

// ec2 is the EC2 instance state-change event of AWS's "Content filtering in Amazon
// EventBridge event patterns" page, with the fields its examples filter on.
const ec2 = `{
  "version": "0",
  "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
  "detail-type": "EC2 Instance State-change Notification",
  "source": "aws.ec2",
  "account": "111122223333",
  "time": "2017-12-22T18:43:48Z",
  "region": "us-west-1",
  "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
  "detail": {
    "instance-id": "i-1234567890abcdef0",
    "state": "terminated",
    "c-count": 5, "d-count": 7, "x-limit": 301.8,
    "source-ip": "10.0.0.123",
    "source-ip6": "2001:db8:0:0:1:0:0:1",
    "FileName": "pictures/cat.png",
    "FilePath": "/usr/lib/libc.so",
    "event-version": "",
    "responseElements": null,
    "enabled": true,
    "tags": ["red", "green", 3],
    "items": [{"id": 1, "kind": "a"}, {"id": 2, "kind": "b"}],
    "nested": {"deep": {"value": "x"}}
  }
}`

func TestMatch(t *testing.T) {
	cases := []struct {
		name, pattern string
		want          bool
	}{
		// Exact values, arrays as any-of, and across fields.
		{"source", `{"source":["aws.ec2"]}`, true},
		{"source other", `{"source":["aws.s3"]}`, false},
		{"any of", `{"source":["aws.s3","aws.ec2"]}`, true},
		{"and", `{"source":["aws.ec2"],"detail-type":["EC2 Instance State-change Notification"]}`, true},
		{"and fails", `{"source":["aws.ec2"],"detail-type":["other"]}`, false},
		{"nested", `{"detail":{"state":["terminated"]}}`, true},
		{"deep", `{"detail":{"nested":{"deep":{"value":["x"]}}}}`, true},
		{"deep wrong", `{"detail":{"nested":{"deep":{"value":["y"]}}}}`, false},
		{"missing", `{"detail":{"nope":["x"]}}`, false},
		{"case sensitive", `{"source":["AWS.EC2"]}`, false},
		{"event array", `{"resources":["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0","arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]}`, true},
		{"event array element", `{"detail":{"tags":["green"]}}`, true},
		{"event array number", `{"detail":{"tags":[3]}}`, true},
		{"event array none", `{"detail":{"tags":["blue"]}}`, false},
		{"array of objects", `{"detail":{"items":{"id":[2],"kind":["b"]}}}`, true},
		{"array of objects across elements", `{"detail":{"items":{"id":[1],"kind":["b"]}}}`, false},
		{"number", `{"detail":{"c-count":[5]}}`, true},
		{"number as float", `{"detail":{"c-count":[5.0]}}`, true},
		{"number vs string", `{"detail":{"c-count":["5"]}}`, false},
		{"bool", `{"detail":{"enabled":[true]}}`, true},
		{"bool false", `{"detail":{"enabled":[false]}}`, false},
		{"null", `{"detail":{"responseElements":[null]}}`, true},
		{"null missing", `{"detail":{"nope":[null]}}`, false},
		{"empty string", `{"detail":{"event-version":[""]}}`, true},
		{"empty string vs null", `{"detail":{"responseElements":[""]}}`, false},
		{"object is no leaf", `{"detail":["x"]}`, false},
		// prefix and suffix.
		{"prefix", `{"time":[{"prefix":"2017-12-22"}]}`, true},
		{"prefix no", `{"time":[{"prefix":"2017-10-02"}]}`, false},
		{"prefix ignore case", `{"source":[{"prefix":{"equals-ignore-case":"AWS.E"}}]}`, true},
		{"suffix", `{"detail":{"FileName":[{"suffix":".png"}]}}`, true},
		{"suffix no", `{"detail":{"FileName":[{"suffix":".jpg"}]}}`, false},
		{"suffix ignore case", `{"detail":{"FileName":[{"suffix":{"equals-ignore-case":".PNG"}}]}}`, true},
		{"prefix on number", `{"detail":{"c-count":[{"prefix":"5"}]}}`, false},
		// anything-but.
		{"anything-but", `{"detail":{"state":[{"anything-but":"initializing"}]}}`, true},
		{"anything-but same", `{"detail":{"state":[{"anything-but":"terminated"}]}}`, false},
		{"anything-but list", `{"detail":{"state":[{"anything-but":["stopped","overloaded"]}]}}`, true},
		{"anything-but list hit", `{"detail":{"state":[{"anything-but":["stopped","terminated"]}]}}`, false},
		{"anything-but number", `{"detail":{"x-limit":[{"anything-but":123}]}}`, true},
		{"anything-but numbers hit", `{"detail":{"c-count":[{"anything-but":[100,5,300]}]}}`, false},
		{"anything-but prefix", `{"detail":{"state":[{"anything-but":{"prefix":"init"}}]}}`, true},
		{"anything-but prefix hit", `{"detail":{"state":[{"anything-but":{"prefix":"term"}}]}}`, false},
		{"anything-but suffix", `{"detail":{"FileName":[{"anything-but":{"suffix":".txt"}}]}}`, true},
		{"anything-but suffix hit", `{"detail":{"FileName":[{"anything-but":{"suffix":".png"}}]}}`, false},
		{"anything-but ignore case", `{"detail":{"state":[{"anything-but":{"equals-ignore-case":["Stopped","OverLoaded"]}}]}}`, true},
		{"anything-but ignore case hit", `{"detail":{"state":[{"anything-but":{"equals-ignore-case":"TERMINATED"}}]}}`, false},
		{"anything-but wildcard", `{"detail":{"FilePath":[{"anything-but":{"wildcard":"*/bin/*"}}]}}`, true},
		{"anything-but wildcard hit", `{"detail":{"FilePath":[{"anything-but":{"wildcard":"*/lib/*"}}]}}`, false},
		{"anything-but wildcard list hit", `{"detail":{"FilePath":[{"anything-but":{"wildcard":["*/bin/*","*/lib/*"]}}]}}`, false},
		{"anything-but missing field", `{"detail":{"nope":[{"anything-but":"x"}]}}`, false},
		// numeric.
		{"numeric range", `{"detail":{"c-count":[{"numeric":[">",0,"<=",5]}],"d-count":[{"numeric":["<",10]}],"x-limit":[{"numeric":["=",3.018e2]}]}}`, true},
		{"numeric open bound", `{"detail":{"c-count":[{"numeric":[">",0,"<",5]}]}}`, false},
		{"numeric ge", `{"detail":{"c-count":[{"numeric":[">=",5]}]}}`, true},
		{"numeric eq", `{"detail":{"x-limit":[{"numeric":["=",301.8]}]}}`, true},
		{"numeric eq no", `{"detail":{"x-limit":[{"numeric":["=",301]}]}}`, false},
		{"numeric on string", `{"detail":{"state":[{"numeric":[">",0]}]}}`, false},
		{"numeric in array", `{"detail":{"tags":[{"numeric":["<",4]}]}}`, true},
		// exists.
		{"exists", `{"detail":{"state":[{"exists":true}]}}`, true},
		{"exists missing", `{"detail":{"nope":[{"exists":true}]}}`, false},
		{"not exists", `{"detail":{"nope":[{"exists":false}]}}`, true},
		{"not exists present", `{"detail":{"state":[{"exists":false}]}}`, false},
		{"exists null value", `{"detail":{"responseElements":[{"exists":true}]}}`, true},
		{"exists intermediate", `{"detail":{"nested":[{"exists":true}]}}`, false},
		{"not exists missing parent", `{"nope":{"deeper":[{"exists":false}]}}`, true},
		// equals-ignore-case.
		{"equals-ignore-case", `{"detail-type":[{"equals-ignore-case":"ec2 instance state-change notification"}]}`, true},
		{"equals-ignore-case no", `{"detail-type":[{"equals-ignore-case":"ec2 instance"}]}`, false},
		// wildcard.
		{"wildcard", `{"detail":{"FileName":[{"wildcard":"*.png"}]}}`, true},
		{"wildcard dir", `{"detail":{"FileName":[{"wildcard":"pictures/*.png"}]}}`, true},
		{"wildcard many", `{"resources":[{"wildcard":"arn:aws:ec2:*:*:instance/*"}]}`, true},
		{"wildcard no", `{"detail":{"FileName":[{"wildcard":"*.jpg"}]}}`, false},
		{"wildcard none", `{"detail":{"state":[{"wildcard":"terminated"}]}}`, true},
		{"wildcard star", `{"detail":{"state":[{"wildcard":"*"}]}}`, true},
		{"wildcard middle", `{"detail":{"FilePath":[{"wildcard":"/usr/*/libc*"}]}}`, true},
		{"wildcard overlap", `{"detail":{"FilePath":[{"wildcard":"/usr/lib*lib*.so"}]}}`, true},
		// cidr.
		{"cidr", `{"detail":{"source-ip":[{"cidr":"10.0.0.0/24"}]}}`, true},
		{"cidr no", `{"detail":{"source-ip":[{"cidr":"10.0.1.0/24"}]}}`, false},
		{"cidr v6", `{"detail":{"source-ip6":[{"cidr":"2001:db8::/64"}]}}`, true},
		{"cidr v6 no", `{"detail":{"source-ip6":[{"cidr":"2001:db9::/64"}]}}`, false},
		{"cidr on text", `{"detail":{"state":[{"cidr":"10.0.0.0/8"}]}}`, false},
		// $or.
		{"or", `{"detail":{"$or":[{"c-count":[{"numeric":[">",0,"<=",5]}]},{"d-count":[{"numeric":["<",10]}]}]}}`, true},
		{"or one", `{"detail":{"$or":[{"c-count":[{"numeric":[">",100]}]},{"d-count":[{"numeric":["<",10]}]}]}}`, true},
		{"or none", `{"detail":{"$or":[{"c-count":[{"numeric":[">",100]}]},{"d-count":[{"numeric":[">",10]}]}]}}`, false},
		{"or top", `{"source":["aws.ec2"],"$or":[{"detail-type":["nope"]},{"detail":{"state":["terminated"]}}]}`, true},
		{"or top and fails", `{"source":["aws.s3"],"$or":[{"detail-type":["nope"]},{"detail":{"state":["terminated"]}}]}`, false},
		{"or nested or", `{"$or":[{"source":["x"]},{"$or":[{"region":["y"]},{"region":["us-west-1"]}]}]}`, true},
		{"empty pattern", `{}`, true},
		{"mixed any-of", `{"detail":{"state":[{"prefix":"x"},"terminated",{"numeric":[">",1]}]}}`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Compile([]byte(c.pattern))
			if err != nil {
				t.Fatalf("Compile(%s): %v", c.pattern, err)
			}
			got, err := p.Match([]byte(ec2))
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("Match(%s) = %v, want %v", c.pattern, got, c.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	cases := []struct{ pattern, reason string }{
		{`[]`, "Filter is not an object"},
		{`"x"`, "Filter is not an object"},
		{`{`, "Filter is not valid JSON"},
		{`{"source":"aws.ec2"}`, `"source" must be an object or an array`},
		{`{"source":[]}`, "Empty arrays are not allowed"},
		{`{"source":[["x"]]}`, "Match value must be String, number, true, false, or null"},
		{`{"source":[{"prefix":"a","suffix":"b"}]}`, "Only one key allowed in match expression"},
		{`{"source":[{"bogus":"a"}]}`, "Unrecognized match type bogus"},
		{`{"source":[{"prefix":1}]}`, "Value of prefix must be a string or nested equals-ignore-case"},
		{`{"source":[{"exists":"yes"}]}`, "Value of exists must be true or false"},
		{`{"source":[{"numeric":[">","a"]}]}`, "Value of > must be numeric"},
		{`{"source":[{"numeric":["~",1]}]}`, "Unrecognized numeric range operator: ~"},
		{`{"source":[{"numeric":[">",1,">",2]}]}`, "Bad numeric range operator: >"},
		{`{"source":[{"numeric":[">",5,"<",1]}]}`, "Bottom must be less than top"},
		{`{"source":[{"numeric":["=",1,"<",2]}]}`, "Too many elements in numeric expression"},
		{`{"source":[{"numeric":[">"]}]}`, "Too many elements in numeric expression"},
		{`{"source":[{"anything-but":null}]}`, "Value of anything-but must be an array or single string/number value."},
		{`{"source":[{"anything-but":[true]}]}`, "Inside anything but list, start|null|boolean is not supported."},
		{`{"source":[{"anything-but":{"prefix":""}}]}`, "Null prefix/suffix not allowed"},
		{`{"source":[{"anything-but":{"numeric":[">",1]}}]}`, "Unsupported anything-but pattern: numeric"},
		{`{"source":[{"wildcard":"a**b"}]}`, "Consecutive wildcard characters at pos 2"},
		{`{"source":[{"wildcard":"a\\b"}]}`, "Invalid escape character at pos 1"},
		{`{"source":[{"cidr":"10.0.0.0/33"}]}`, "Malformed CIDR"},
		{`{"source":[{"equals-ignore-case":5}]}`, "Value of equals-ignore-case must be a string"},
		{`{"$or":[{"source":["a"]}]}`, "Must have at least 2 elements in $or array"},
	}
	for _, c := range cases {
		_, err := Compile([]byte(c.pattern))
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("Compile(%s) = %v, want an *Error", c.pattern, err)
			continue
		}
		if !strings.Contains(pe.Reason, c.reason) {
			t.Errorf("Compile(%s) reason %q, want it to contain %q", c.pattern, pe.Reason, c.reason)
		}
		if !strings.HasPrefix(err.Error(), "Event pattern is not valid. Reason: ") {
			t.Errorf("Compile(%s) error %q lacks AWS's prefix", c.pattern, err)
		}
	}
}

func TestWildcardEscapes(t *testing.T) {
	p := MustCompile(`{"k":[{"wildcard":"a\\*b*"}]}`)
	for ev, want := range map[string]bool{`{"k":"a*bcd"}`: true, `{"k":"axbcd"}`: false} {
		got, err := p.Match([]byte(ev))
		if err != nil || got != want {
			t.Errorf("Match(%s) = %v, %v; want %v", ev, got, err, want)
		}
	}
}

func FuzzPattern(f *testing.F) {
	f.Add(`{"detail":{"state":[{"anything-but":{"wildcard":"*/lib/*"}}]}}`, ec2)
	f.Add(`{"$or":[{"a":[{"numeric":[">",0,"<=",5]}]},{"b":[{"cidr":"10.0.0.0/8"}]}]}`, `{"a":3,"b":"10.1.2.3"}`)
	f.Add(`{"a":[{"wildcard":"x*y*z"},{"prefix":{"equals-ignore-case":"İ"}}]}`, `{"a":["xyz","i̇x"]}`)
	f.Fuzz(func(t *testing.T, pattern, event string) {
		p, err := Compile([]byte(pattern))
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Compile error is not an *Error: %v", err)
			}
			return
		}
		ev, err := Decode([]byte(event))
		if err != nil {
			return
		}
		a := p.MatchValue(ev)
		// Matching is deterministic and compiling twice gives the same matcher.
		if b := MustCompile(pattern).MatchValue(ev); a != b {
			t.Fatalf("two compilations disagree on %s / %s", pattern, event)
		}
		// A value and a one-element array holding it match alike (arrays in events are any-of):
		// this compares the scalar fast path with the list path.
		wrapped := make(map[string]any, len(ev))
		for k, v := range ev {
			wrapped[k] = []any{v}
		}
		if b := p.MatchValue(wrapped); a != b {
			t.Fatalf("%s: %v on the event, %v with its values in arrays: %s", pattern, a, b, event)
		}
		// The empty pattern matches every event.
		if !MustCompile(`{}`).MatchValue(ev) {
			t.Fatal("{} did not match")
		}
	})
}

func TestExactValues(t *testing.T) {
	for pat, want := range map[string]string{
		`{"source":["a","b"],"detail":{"x":[1]}}`:          "a,b",
		`{"source":["a",{"prefix":"b"}]}`:                  "-",
		`{"detail":{"source":["a"]}}`:                      "-",
		`{"$or":[{"source":["a"]},{"source":["b"]}]}`:      "-",
		`{"source":["a"],"$or":[{"x":["1"]},{"y":["2"]}]}`: "a",
	} {
		vals, ok := MustCompile(pat).ExactValues("source")
		got := strings.Join(vals, ",")
		if !ok {
			got = "-"
		}
		if got != want {
			t.Errorf("ExactValues(%s) = %s, want %s", pat, got, want)
		}
	}
}
