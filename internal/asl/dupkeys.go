package asl

import (
	"strconv"
	"strings"

	"github.com/stepline/stepline/internal/jsonv"
)

// duplicateStates finds state names written twice in one "States" object. jsonv keeps the last
// of duplicate keys (as Jackson does), so the parsed value no longer shows them; this scans the
// text, which Parse has already found to be valid JSON. The result maps the location of each
// "States" object ("/States", "/States/P/Branches[0]/States") to the repeated names.
func duplicateStates(data []byte) map[string][]string {
	s := dupScanner{data: data}
	s.value(false)
	return s.found
}

type dupScanner struct {
	data []byte
	pos  int
	// segs is the location of the current value, one "/key" or "[i]" per level; it is joined
	// only when a duplicate is found, so deep nesting stays linear.
	segs  []string
	found map[string][]string
}

func (s *dupScanner) space() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// value skips one value; isStates says it is the value of a "States" member.
func (s *dupScanner) value(isStates bool) {
	s.space()
	if s.pos >= len(s.data) {
		return
	}
	switch s.data[s.pos] {
	case '{':
		s.pos++
		var seen map[string]bool
		if isStates {
			seen = map[string]bool{}
		}
		for {
			s.space()
			if s.pos >= len(s.data) || s.data[s.pos] == '}' {
				s.pos++
				return
			}
			if s.data[s.pos] == ',' {
				s.pos++
				continue
			}
			key := s.str()
			s.space()
			s.pos++ // ':'
			if seen != nil {
				if seen[key] {
					if s.found == nil {
						s.found = map[string][]string{}
					}
					loc := strings.Join(s.segs, "")
					s.found[loc] = append(s.found[loc], key)
				}
				seen[key] = true
			}
			s.segs = append(s.segs, "/"+key)
			s.value(key == "States")
			s.segs = s.segs[:len(s.segs)-1]
		}
	case '[':
		s.pos++
		for i := 0; ; {
			s.space()
			if s.pos >= len(s.data) || s.data[s.pos] == ']' {
				s.pos++
				return
			}
			if s.data[s.pos] == ',' {
				s.pos++
				i++
				continue
			}
			s.segs = append(s.segs, "["+strconv.Itoa(i)+"]")
			s.value(false)
			s.segs = s.segs[:len(s.segs)-1]
		}
	case '"':
		s.str()
	default:
		for s.pos < len(s.data) {
			switch s.data[s.pos] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return
			}
			s.pos++
		}
	}
}

// str reads a string token and returns its decoded text.
func (s *dupScanner) str() string {
	start := s.pos
	s.pos++
	for s.pos < len(s.data) && s.data[s.pos] != '"' {
		if s.data[s.pos] == '\\' {
			s.pos++
		}
		s.pos++
	}
	s.pos++
	if s.pos > len(s.data) {
		s.pos = len(s.data)
	}
	v, err := jsonv.Parse(s.data[start:s.pos])
	if err != nil {
		return ""
	}
	str, _ := v.(string)
	return str
}
