package awsapi

import (
	"testing"
	"time"

	"github.com/stepline/stepline/internal/service"
)

func TestEpoch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Unix(1700000000, 0), "1700000000"},
		{time.Unix(1700000000, 123e6), "1700000000.123"},
		{time.Unix(1700000000, 120e6), "1700000000.12"},
		{time.Unix(1700000000, 5e6), "1700000000.005"},
		{time.Unix(1700000000, 999999999), "1700000000.999"},
	}
	for _, tt := range tests {
		b, err := epoch(tt.t).MarshalJSON()
		if err != nil || string(b) != tt.want {
			t.Errorf("epoch(%v) = %s, %v; want %s", tt.t, b, err, tt.want)
		}
	}
}

// TestCatalogueCoversServiceCodes keeps the catalogue in step with the service: a code
// missing from it would go out as a 500.
func TestCatalogueCoversServiceCodes(t *testing.T) {
	t.Parallel()
	codes := []service.Code{
		service.CodeActivityDoesNotExist, service.CodeExecutionAlreadyExists, service.CodeExecutionDoesNotExist,
		service.CodeInvalidArn, service.CodeInvalidDefinition, service.CodeInvalidExecutionInput,
		service.CodeInvalidLoggingConfiguration, service.CodeInvalidName, service.CodeInvalidOutput,
		service.CodeInvalidToken, service.CodeMissingRequiredParameter, service.CodeResourceNotFound,
		service.CodeStateMachineAlreadyExists, service.CodeStateMachineDoesNotExist,
		service.CodeStateMachineTypeNotSupported, service.CodeTaskTimedOut, service.CodeValidation,
	}
	for _, c := range codes {
		if _, ok := catalogue[string(c)]; !ok {
			t.Errorf("service code %s has no row in the catalogue", c)
		}
	}
	for _, c := range []string{codeInternalFailure, codeServiceUnavailable, codeTooLarge, codeSerialization, codeUnknownOperation, codeValidation} {
		if _, ok := catalogue[c]; !ok {
			t.Errorf("protocol code %s has no row in the catalogue", c)
		}
	}
	if status("NoSuchCode") != 500 || status("InvalidArn") != 400 || status(codeTooLarge) != 413 {
		t.Error("status lookups are wrong")
	}
}

func TestValidationMessages(t *testing.T) {
	t.Parallel()
	s := func(v string) *string { return &v }
	n := func(v int) *int { return &v }
	tests := []struct {
		name  string
		check func(c *checker)
		want  string
	}{
		{"valid", func(c *checker) { c.reqStr("name", s("ok"), 1, 80, false) }, ""},
		{"null", func(c *checker) { c.reqStr("name", nil, 1, 80, false) },
			"1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"},
		{"sensitive value hidden", func(c *checker) { c.str("definition", s(""), 1, 10, true) },
			"1 validation error detected: Value at 'definition' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"surrogate pairs count twice", func(c *checker) { c.str("name", s("😀😀"), 1, 3, false) },
			"1 validation error detected: Value '😀😀' at 'name' failed to satisfy constraint: Member must have length less than or equal to 3"},
		{"integer", func(c *checker) { c.intRange("maxResults", n(-1), 0, 1000) },
			"1 validation error detected: Value '-1' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 0"},
		{"enum and more", func(c *checker) {
			c.enum("type", s("X"), "STANDARD", "EXPRESS")
			c.intRange("maxResults", n(2000), 0, 1000)
		}, "2 validation errors detected: Value 'X' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]; " +
			"Value '2000' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000"},
	}
	for _, tt := range tests {
		var c checker
		tt.check(&c)
		err := c.err()
		got := ""
		if err != nil {
			got = err.(*apiError).Message
		}
		if got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

func TestAppendWithoutData(t *testing.T) {
	t.Parallel()
	in := `{"timestamp":1.5,"type":"TaskScheduled","id":3,"previousEventId":2,"taskScheduledEventDetails":{"resourceType":"lambda","resource":"invoke","region":"us-east-1","parameters":"{\"a\":1.50}","timeoutInSeconds":5}}`
	want := `{"timestamp":1.5,"type":"TaskScheduled","id":3,"previousEventId":2,"taskScheduledEventDetails":{"resourceType":"lambda","resource":"invoke","region":"us-east-1","timeoutInSeconds":5}}`
	got, err := appendWithoutData(nil, []byte(in))
	if err != nil || string(got) != want {
		t.Fatalf("appendWithoutData:\n got %s, %v\nwant %s", got, err, want)
	}
	in = `{"timestamp":1,"type":"PassStateExited","id":3,"previousEventId":2,"stateExitedEventDetails":{"name":"P","output":"{}","outputDetails":{"truncated":false}}}`
	want = `{"timestamp":1,"type":"PassStateExited","id":3,"previousEventId":2,"stateExitedEventDetails":{"name":"P"}}`
	if got, err := appendWithoutData(nil, []byte(in)); err != nil || string(got) != want {
		t.Fatalf("appendWithoutData:\n got %s, %v\nwant %s", got, err, want)
	}
}
