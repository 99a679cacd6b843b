package awsapi

import (
	"strconv"
	"time"
)

// epoch is a timestamp as AWS's JSON 1.0 protocol encodes it: a number of seconds since the
// Unix epoch, with milliseconds as a fraction when there are any.
type epoch time.Time

// MarshalJSON implements json.Marshaler.
func (t epoch) MarshalJSON() ([]byte, error) {
	return appendEpoch(nil, time.Time(t)), nil
}

func appendEpoch(buf []byte, t time.Time) []byte {
	ms := t.UnixMilli()
	buf = strconv.AppendInt(buf, ms/1000, 10)
	if frac := ms % 1000; frac != 0 {
		s := strconv.FormatInt(1000+frac, 10)[1:]
		for s[len(s)-1] == '0' {
			s = s[:len(s)-1]
		}
		buf = append(buf, '.')
		buf = append(buf, s...)
	}
	return buf
}

func epochPtr(t *time.Time) *epoch {
	if t == nil {
		return nil
	}
	e := epoch(*t)
	return &e
}

// included is AWS's {"included": true} companion of execution data.
type included struct {
	Included bool `json:"included"`
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
