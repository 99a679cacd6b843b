package service

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stepline/stepline/internal/engine"
	"github.com/stepline/stepline/internal/store"
)

func TestValidName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ok   bool
	}{
		{"simple", true},
		{"with-dash_and.dot", true},
		{"ünïcödé-名前", true},
		{"emoji😀", true},
		{strings.Repeat("a", 80), true},
		{strings.Repeat("😀", 40), true}, // 80 UTF-16 code units
		{"", false},
		{strings.Repeat("a", 81), false},
		{strings.Repeat("😀", 41), false},
		{"a b", false},
		{"tab\there", false},
		{"nbsp\u00a0", false},
		{"ideographic\u3000space", false},
		{"ctrl\u0001", false},
		{"del\u007f", false},
		{"c1\u0085", false},
		{"nonchar\ufffe", false},
		{"nonchar\U0010ffff", false},
		{"bad\xff", false},
	}
	for _, c := range "<>{}[]?*\"#%\\^|~`$&,;:/" {
		tests = append(tests, struct {
			name string
			ok   bool
		}{"x" + string(c) + "y", false})
	}
	for _, tt := range tests {
		if got := validName(tt.name); got != tt.ok {
			t.Errorf("validName(%q) = %v, want %v", tt.name, got, tt.ok)
		}
	}
}

func TestParseARN(t *testing.T) {
	t.Parallel()
	const p = "arn:aws:states:us-east-1:123456789012:"
	tests := []struct {
		arn   string
		types []string
		names []string // nil: an error is expected
		msg   string
	}{
		{p + "stateMachine:m", []string{resStateMachine}, []string{"m"}, ""},
		{p + "stateMachine:m:1", []string{resStateMachine}, []string{"m", "1"}, ""},
		{p + "execution:m:e", []string{resExecution, resExpress}, []string{"m", "e"}, ""},
		{p + "express:m:e:1234", []string{resExecution, resExpress}, []string{"m", "e", "1234"}, ""},
		{p + "activity:a", []string{resActivity}, []string{"a"}, ""},
		{"arn:aws-cn:states:cn-north-1:123456789012:activity:a", []string{resActivity}, []string{"a"}, ""},
		{"m", []string{resStateMachine}, nil, "Invalid Arn: 'Invalid ARN prefix: m'"},
		{p + "stateMachine:m", []string{resExecution}, nil, "Invalid Arn: 'Resource type not valid in this context: stateMachine'"},
		{p + "widget:m", []string{resStateMachine}, nil, "Invalid Arn: 'Invalid resource type: widget'"},
		{"arn:aws:lambda:us-east-1:123456789012:function:f", []string{resStateMachine}, nil, ""},
		{p + "stateMachine:", []string{resStateMachine}, nil, ""},
		{p + "execution:m", []string{resExecution}, nil, ""},
		{p + "stateMachine:a:b:c", []string{resStateMachine}, nil, ""},
		{"arn:aws:states:us-east-1", []string{resStateMachine}, nil, ""},
	}
	for _, tt := range tests {
		a, err := parseARN(tt.arn, tt.types...)
		if tt.names == nil {
			if CodeOf(err) != CodeInvalidArn || (tt.msg != "" && err.(*Error).Message != tt.msg) {
				t.Errorf("parseARN(%q) error = %v, want InvalidArn %q", tt.arn, err, tt.msg)
			}
			continue
		}
		if err != nil || fmt.Sprint(a.Names) != fmt.Sprint(tt.names) {
			t.Errorf("parseARN(%q) = %+v, %v; want names %v", tt.arn, a, err, tt.names)
		}
	}
}

func TestTokenError(t *testing.T) {
	t.Parallel()
	invalid := func(cause error) error { return fmt.Errorf("engine: %w: %w", engine.ErrInvalidToken, cause) }
	tests := []struct {
		name string
		err  error
		want Code
	}{
		{"never issued", invalid(store.ErrNotFound), CodeInvalidToken},
		{"closed", invalid(store.ErrTaskTokenClosed), CodeTaskTimedOut},
		{"execution ended", invalid(store.ErrExecutionNotRunning), CodeTaskTimedOut},
		{"no error", nil, ""},
	}
	for _, tt := range tests {
		if got := CodeOf(tokenError(tt.err)); got != tt.want {
			t.Errorf("tokenError(%s) code = %q, want %q", tt.name, got, tt.want)
		}
	}
	other := errors.New("disk full")
	if err := tokenError(other); !errors.Is(err, other) || CodeOf(err) != "" {
		t.Errorf("tokenError passes other failures on as they are: %v", err)
	}
}

func TestHistoryToken(t *testing.T) {
	t.Parallel()
	for _, reverse := range []bool{false, true} {
		tok := encodeHistoryToken(42, reverse)
		if after, err := decodeHistoryToken(tok, reverse); err != nil || after != 42 {
			t.Errorf("round trip (reverse %v) = %d, %v", reverse, after, err)
		}
		if _, err := decodeHistoryToken(tok, !reverse); CodeOf(err) != CodeInvalidToken {
			t.Errorf("token used in the other direction: %v", err)
		}
	}
	for _, bad := range []string{"", "!!", "aDE6eDox", encodeHistoryToken(0, false)} {
		if _, err := decodeHistoryToken(bad, false); CodeOf(err) != CodeInvalidToken {
			t.Errorf("decodeHistoryToken(%q) = %v, want InvalidToken", bad, err)
		}
	}
}

func TestErrorIsMatchesCodes(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("wrapped: %w", invalidName("a b"))
	if !errors.Is(err, &Error{Code: CodeInvalidName}) || errors.Is(err, &Error{Code: CodeInvalidArn}) {
		t.Errorf("errors.Is by code is wrong for %v", err)
	}
}

func TestRevisionCache(t *testing.T) {
	t.Parallel()
	var c revisionCache
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	sm := &store.StateMachine{Arn: "arn:m"}
	if c.get("arn:m", t0) != nil {
		t.Fatal("empty cache returned a revision")
	}
	c.put(sm, t0)
	tests := []struct {
		at   time.Time
		want *store.StateMachine
	}{
		{t0, sm},
		{t0.Add(revisionCacheTTL - time.Millisecond), sm},
		{t0.Add(revisionCacheTTL), nil},
	}
	for _, tt := range tests {
		if got := c.get("arn:m", tt.at); got != tt.want {
			t.Errorf("get at +%v = %v, want %v", tt.at.Sub(t0), got, tt.want)
		}
	}
	c.forget("arn:m")
	if c.get("arn:m", t0) != nil {
		t.Error("a forgotten revision was returned")
	}
}
