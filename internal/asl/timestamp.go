package asl

// Two timestamp grammars matter: definitions are checked against RFC 3339 (uppercase T and Z,
// seconds required), while AWS reads TimestampPath values with Java's ISO_OFFSET_DATE_TIME,
// which also accepts a time without seconds and offsets with seconds.

// isRFC3339 reports whether s is an RFC 3339 date-time as ASL requires it for Timestamp fields.
func isRFC3339(s string) bool {
	return parseDateTime(s, false)
}

// isOffsetDateTime reports whether s is an ISO-8601 extended offset date-time.
func isOffsetDateTime(s string) bool {
	return parseDateTime(s, true)
}

func parseDateTime(s string, iso bool) bool {
	// yyyy-mm-ddThh:mm
	if len(s) < 16 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' {
		return false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 {
		return false
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 {
		return false
	}
	rest := s[16:]
	if len(rest) >= 3 && rest[0] == ':' {
		sec, ok := digits(rest[1:3])
		if !ok || sec > 59 {
			return false
		}
		rest = rest[3:]
		if len(rest) > 0 && rest[0] == '.' {
			n := 1
			for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
				n++
			}
			if n == 1 || (iso && n > 10) {
				return false
			}
			rest = rest[n:]
		}
	} else if !iso {
		return false
	}
	return validOffset(rest, iso)
}

func validOffset(s string, iso bool) bool {
	if s == "Z" {
		return true
	}
	if len(s) < 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' {
		return false
	}
	h, ok1 := digits(s[1:3])
	m, ok2 := digits(s[4:6])
	if !ok1 || !ok2 || h > 18 || m > 59 {
		return false
	}
	switch {
	case len(s) == 6:
		return true
	case iso && len(s) == 9 && s[6] == ':':
		sec, ok := digits(s[7:9])
		return ok && sec <= 59
	}
	return false
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
