package jsonata

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Date/time and integer pictures follow the XPath 3.1 fn:format-dateTime and
// fn:format-integer specifications as the reference implementation interprets them.

var (
	fewWords = []string{"Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten",
		"Eleven", "Twelve", "Thirteen", "Fourteen", "Fifteen", "Sixteen", "Seventeen", "Eighteen", "Nineteen"}
	ordinalWords = []string{"Zeroth", "First", "Second", "Third", "Fourth", "Fifth", "Sixth", "Seventh", "Eighth", "Ninth", "Tenth",
		"Eleventh", "Twelfth", "Thirteenth", "Fourteenth", "Fifteenth", "Sixteenth", "Seventeenth", "Eighteenth", "Nineteenth"}
	decadeWords    = []string{"Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety", "Hundred"}
	magnitudeWords = []string{"Thousand", "Million", "Billion", "Trillion"}
	dayNames       = []string{"", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}
	monthNames     = []string{"January", "February", "March", "April", "May", "June", "July", "August",
		"September", "October", "November", "December"}
)

// wordValues maps number words (cardinal and ordinal, lower case) to their values, and
// wordList keeps the reference's order for the parsing regex.
var (
	wordValues = map[string]float64{}
	wordList   []string
)

func init() {
	add := func(w string, v float64) {
		if _, ok := wordValues[w]; !ok {
			wordList = append(wordList, w)
		}
		wordValues[w] = v
	}
	for i, w := range fewWords {
		add(strings.ToLower(w), float64(i))
	}
	for i, w := range ordinalWords {
		add(strings.ToLower(w), float64(i))
	}
	for i, w := range decadeWords {
		lw := strings.ToLower(w)
		add(lw, float64((i+2)*10))
		add(lw[:len(lw)-1]+"ieth", float64((i+2)*10))
	}
	add("hundredth", 100)
	for i, w := range magnitudeWords {
		lw := strings.ToLower(w)
		v := math.Pow(10, float64((i+1)*3))
		add(lw, v)
		add(lw+"th", v)
	}
}

// decimalExponent returns floor(log10(n)) for n >= 1, exactly.
func decimalExponent(n float64) int {
	e := 0
	for p := 10.0; p <= n && e < 400; p *= 10 {
		e++
	}
	return e
}

func numberToWords(value float64, ordinal bool) string {
	var lookup func(num float64, prev, ord bool) string
	lookup = func(num float64, prev, ord bool) string {
		words := ""
		switch {
		case num <= 19:
			if prev {
				words = " and "
			}
			if ord {
				words += ordinalWords[int(num)]
			} else {
				words += fewWords[int(num)]
			}
		case num < 100:
			tens := int(num / 10)
			rem := math.Mod(num, 10)
			if prev {
				words = " and "
			}
			words += decadeWords[tens-2]
			if rem > 0 {
				words += "-" + lookup(rem, false, ord)
			} else if ord {
				words = words[:len(words)-1] + "ieth"
			}
		case num < 1000:
			hundreds := int(num / 100)
			rem := math.Mod(num, 100)
			if prev {
				words = ", "
			}
			words += fewWords[hundreds] + " Hundred"
			if rem > 0 {
				words += lookup(rem, true, ord)
			} else if ord {
				words += "th"
			}
		default:
			mag := decimalExponent(num) / 3
			if mag > len(magnitudeWords) {
				mag = len(magnitudeWords)
			}
			factor := math.Pow(10, float64(mag*3))
			mant := math.Floor(num / factor)
			rem := num - mant*factor
			if prev {
				words = ", "
			}
			words += lookup(mant, false, false) + " " + magnitudeWords[mag-1]
			if rem > 0 {
				words += lookup(rem, true, ord)
			} else if ord {
				words += "th"
			}
		}
		return words
	}
	return lookup(value, false, ordinal)
}

var wordSplitter = regexp.MustCompile(`,\s|\sand\s|[\s\\-]`)

func wordsToNumber(text string) float64 {
	segs := []float64{0}
	for _, part := range wordSplitter.Split(text, -1) {
		value, ok := wordValues[part]
		if !ok {
			value = math.NaN()
		}
		if value < 100 {
			top := segs[len(segs)-1]
			segs = segs[:len(segs)-1]
			if top >= 1000 {
				segs = append(segs, top)
				top = 0
			}
			segs = append(segs, top+value)
		} else {
			segs[len(segs)-1] *= value
		}
	}
	total := 0.0
	for _, s := range segs {
		total += s
	}
	return total
}

var romanNumerals = []struct {
	value   float64
	numeral string
}{
	{1000, "m"}, {900, "cm"}, {500, "d"}, {400, "cd"}, {100, "c"}, {90, "xc"}, {50, "l"},
	{40, "xl"}, {10, "x"}, {9, "ix"}, {5, "v"}, {4, "iv"}, {1, "i"},
}

func decimalToRoman(value float64) (string, error) {
	var sb strings.Builder
	// thousands are written as a run of m's, so a huge number asks for a huge string
	if thousands := math.Floor(value / 1000); thousands > maxStringLength {
		return "", fmt.Errorf("jsonata: %s is too large for roman numerals", formatNumber(value))
	} else if thousands > 0 {
		sb.WriteString(strings.Repeat("m", int(thousands)))
		value -= thousands * 1000
	}
	for _, rn := range romanNumerals {
		for value >= rn.value {
			sb.WriteString(rn.numeral)
			value -= rn.value
		}
	}
	return sb.String(), nil
}

func romanToDecimal(roman string) float64 {
	values := map[byte]float64{'M': 1000, 'D': 500, 'C': 100, 'L': 50, 'X': 10, 'V': 5, 'I': 1}
	decimal, maxSeen := 0.0, 1.0
	for i := len(roman) - 1; i >= 0; i-- {
		v, ok := values[roman[i]]
		if !ok {
			return math.NaN()
		}
		if v < maxSeen {
			decimal -= v
		} else {
			maxSeen = v
			decimal += v
		}
	}
	return decimal
}

func decimalToLetters(value float64, a rune) string {
	var letters []rune
	for value > 0 {
		letters = append([]rune{rune(math.Mod(value-1, 26)) + a}, letters...)
		value = math.Floor((value - 1) / 26)
	}
	return string(letters)
}

func lettersToDecimal(letters string, a rune) float64 {
	r := []rune(letters)
	decimal := 0.0
	for i := range r {
		decimal += float64(r[len(r)-i-1]-a+1) * math.Pow(26, float64(i))
	}
	return decimal
}

type intFormatKind uint8

const (
	fmtDecimal intFormatKind = iota
	fmtLetters
	fmtRoman
	fmtWords
	fmtSequence
)

type letterCase uint8

const (
	caseLower letterCase = iota
	caseUpper
	caseTitle
)

type groupSep struct {
	position int
	char     rune
}

type integerFormat struct {
	primary    intFormatKind
	caseType   letterCase
	ordinal    bool
	zeroCode   rune
	mandatory  int
	optional   int
	regular    bool
	regularSep groupSep
	separators []groupSep
	token      string
	n          int // digits to match when parsing a year
}

var decimalGroups = []rune{0x30, 0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66,
	0x0CE6, 0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
	0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10}

func analyseIntegerPicture(picture string) (*integerFormat, error) {
	f := &integerFormat{primary: fmtDecimal, caseType: caseLower}
	primary := picture
	if semi := strings.LastIndexByte(picture, ';'); semi >= 0 {
		primary = picture[:semi]
		if strings.HasPrefix(picture[semi+1:], "o") {
			f.ordinal = true
		}
	}
	switch primary {
	case "A":
		f.caseType = caseUpper
		f.primary = fmtLetters
	case "a":
		f.primary = fmtLetters
	case "I":
		f.caseType = caseUpper
		f.primary = fmtRoman
	case "i":
		f.primary = fmtRoman
	case "W":
		f.caseType = caseUpper
		f.primary = fmtWords
	case "Ww":
		f.caseType = caseTitle
		f.primary = fmtWords
	case "w":
		f.primary = fmtWords
	default:
		zero := rune(-1)
		pos := 0
		var seps []groupSep
		rs := []rune(primary)
		for i := len(rs) - 1; i >= 0; i-- {
			cp := rs[i]
			digit := false
			for _, g := range decimalGroups {
				if cp >= g && cp <= g+9 {
					digit = true
					f.mandatory++
					pos++
					if zero < 0 {
						zero = g
					} else if g != zero {
						return nil, newError("D3131")
					}
					break
				}
			}
			if !digit {
				if cp == '#' {
					pos++
					f.optional++
				} else {
					seps = append(seps, groupSep{position: pos, char: cp})
				}
			}
		}
		if f.mandatory == 0 {
			f.primary = fmtSequence
			f.token = primary
			return f, nil
		}
		f.zeroCode = zero
		if r := regularSeparators(seps); r > 0 {
			f.regular = true
			f.regularSep = groupSep{position: r, char: seps[0].char}
		} else {
			f.separators = seps
		}
	}
	return f, nil
}

func regularSeparators(seps []groupSep) int {
	if len(seps) == 0 {
		return 0
	}
	for _, s := range seps[1:] {
		if s.char != seps[0].char {
			return 0
		}
	}
	positions := make([]int, len(seps))
	for i, s := range seps {
		positions[i] = s.position
	}
	return regularInterval(positions)
}

func formatIntegerValue(value float64, f *integerFormat, b *budget) (string, error) {
	if math.IsNaN(value) || math.IsInf(value, 0) {
		return "", newError("D1001", withValue(value))
	}
	if f.mandatory > maxStringLength {
		return "", fmt.Errorf("jsonata: integer picture asks for %d digits, more than %d", f.mandatory, maxStringLength)
	}
	// the digits are padded as a string, then as runes: a few bytes each
	if err := b.fits(int64(f.mandatory) * 8); err != nil {
		return "", err
	}
	negative := value < 0
	value = math.Abs(value)
	var s string
	switch f.primary {
	case fmtLetters:
		a := 'a'
		if f.caseType == caseUpper {
			a = 'A'
		}
		s = decimalToLetters(value, a)
	case fmtRoman:
		// thousands are a run of m's
		if err := b.fits(int64(math.Min(value/1000, maxStringLength)) * 2); err != nil {
			return "", err
		}
		var err error
		if s, err = decimalToRoman(value); err != nil {
			return "", err
		}
		if f.caseType == caseUpper {
			s = strings.ToUpper(s)
		}
	case fmtWords:
		s = numberToWords(value, f.ordinal)
		switch f.caseType {
		case caseUpper:
			s = strings.ToUpper(s)
		case caseLower:
			s = strings.ToLower(s)
		}
	case fmtDecimal:
		s = formatNumber(value)
		if pad := f.mandatory - len(s); pad > 0 {
			s = strings.Repeat("0", pad) + s
		}
		rs := []rune(s)
		if f.zeroCode != '0' {
			for i, r := range rs {
				if r >= '0' && r <= '9' {
					rs[i] = r - '0' + f.zeroCode
				}
			}
		}
		insert := func(at int, r rune) {
			if at < 0 || at > len(rs) {
				return
			}
			out := make([]rune, 0, len(rs)+1)
			out = append(out, rs[:at]...)
			out = append(out, r)
			rs = append(out, rs[at:]...)
		}
		if f.regular {
			n := (len(rs) - 1) / f.regularSep.position
			for i := n; i > 0; i-- {
				insert(len(rs)-i*f.regularSep.position, f.regularSep.char)
			}
		} else {
			for i := len(f.separators) - 1; i >= 0; i-- {
				insert(len(rs)-f.separators[i].position, f.separators[i].char)
			}
		}
		s = string(rs)
		if f.ordinal {
			suffix := "th"
			last := rs[len(rs)-1]
			tens := len(rs) > 1 && rs[len(rs)-2] == '1'
			if !tens {
				switch last {
				case '1':
					suffix = "st"
				case '2':
					suffix = "nd"
				case '3':
					suffix = "rd"
				}
			}
			s += suffix
		}
	case fmtSequence:
		return "", newError("D3130", withValue(f.token))
	}
	if negative {
		s = "-" + s
	}
	return s, nil
}

func fnFormatInteger(c call, args []any) (any, error) {
	x, ok := argAt(args, 0).(float64)
	if !ok {
		return nil, nil
	}
	picture, _ := argAt(args, 1).(string)
	f, err := analyseIntegerPicture(picture)
	if err != nil {
		return nil, err
	}
	s, err := formatIntegerValue(math.Floor(x), f, &c.ev.mem)
	if err != nil {
		return nil, err
	}
	if err := c.ev.allocString(len(s)); err != nil {
		return nil, err
	}
	return s, nil
}

func fnParseInteger(c call, args []any) (any, error) {
	s, ok := argAt(args, 0).(string)
	if !ok {
		return nil, nil
	}
	picture, _ := argAt(args, 1).(string)
	f, err := analyseIntegerPicture(picture)
	if err != nil {
		return nil, err
	}
	m, err := integerMatcher(f)
	if err != nil {
		return nil, err
	}
	return m.parse(s), nil
}

// componentMatcher parses one variable part of an integer or date/time picture.
type componentMatcher struct {
	regex     string
	parse     func(string) any
	component byte
}

func integerMatcher(f *integerFormat) (*componentMatcher, error) {
	m := &componentMatcher{}
	upper := f.caseType == caseUpper
	switch f.primary {
	case fmtLetters:
		a := 'a'
		m.regex = "[a-z]+"
		if upper {
			a = 'A'
			m.regex = "[A-Z]+"
		}
		m.parse = func(v string) any { return lettersToDecimal(v, a) }
	case fmtRoman:
		m.regex = "[mdclxvi]+"
		if upper {
			m.regex = "[MDCLXVI]+"
		}
		m.parse = func(v string) any {
			if !upper {
				v = strings.ToUpper(v)
			}
			return romanToDecimal(v)
		}
	case fmtWords:
		m.regex = "(?:" + strings.Join(append(append([]string{}, wordList...), "and", `[\-, ]`), "|") + ")+"
		m.parse = func(v string) any { return wordsToNumber(strings.ToLower(v)) }
	case fmtDecimal:
		occurrences := "+"
		if f.n > 0 {
			if f.optional == 0 {
				occurrences = "{" + strconv.Itoa(f.n) + "}"
			} else {
				occurrences = "{" + strconv.Itoa(f.n-f.optional) + "," + strconv.Itoa(f.n) + "}"
			}
		}
		m.regex = "[0-9]" + occurrences
		if f.ordinal {
			m.regex += "(?:th|st|nd|rd)"
		}
		m.parse = func(v string) any {
			digits := v
			if f.ordinal && len(digits) >= 2 {
				digits = digits[:len(digits)-2]
			}
			if f.regular {
				digits = strings.ReplaceAll(digits, ",", "")
			} else {
				for _, sep := range f.separators {
					digits = strings.ReplaceAll(digits, string(sep.char), "")
				}
			}
			if f.zeroCode != '0' {
				rs := []rune(digits)
				for i, r := range rs {
					rs[i] = r - f.zeroCode + '0'
				}
				digits = string(rs)
			}
			n, ok := parseIntPrefix(digits)
			if !ok {
				// JavaScript's parseInt of a longer number is a float; keep its value
				if f, err := strconv.ParseFloat(digits, 64); err == nil {
					return f
				}
				return math.NaN()
			}
			return float64(n)
		}
	case fmtSequence:
		return nil, newError("D3130", withValue(f.token))
	}
	return m, nil
}

// dateMarker is one [..] variable marker of a date/time picture.
type dateMarker struct {
	literal       string
	isLiteral     bool
	component     byte
	presentation1 string
	presentation2 string
	ordinal       bool
	names         letterCase
	hasNames      bool
	widthMin      int
	widthMax      int
	hasMin        bool
	hasMax        bool
	intFormat     *integerFormat
	n             int
}

var defaultPresentation = map[byte]string{
	'Y': "1", 'M': "1", 'D': "1", 'd': "1", 'F': "n", 'W': "1", 'w': "1", 'X': "1", 'x': "1", 'H': "1", 'h': "1",
	'P': "n", 'm': "01", 's': "01", 'f': "1", 'Z': "01:01", 'z': "01:01", 'C': "n", 'E': "n",
}

func analyseDateTimePicture(picture string) ([]*dateMarker, error) {
	var spec []*dateMarker
	addLiteral := func(s string) {
		if s != "" {
			spec = append(spec, &dateMarker{isLiteral: true, literal: strings.ReplaceAll(s, "]]", "]")})
		}
	}
	start, pos := 0, 0
	for pos < len(picture) {
		if picture[pos] != '[' {
			pos++
			continue
		}
		if pos+1 < len(picture) && picture[pos+1] == '[' {
			addLiteral(picture[start:pos])
			spec = append(spec, &dateMarker{isLiteral: true, literal: "["})
			pos += 2
			start = pos
			continue
		}
		addLiteral(picture[start:pos])
		start = pos
		end := strings.IndexByte(picture[start:], ']')
		if end < 0 {
			return nil, newError("D3135")
		}
		pos = start + end
		marker := strings.Join(strings.Fields(picture[start+1:pos]), "")
		d := &dateMarker{widthMin: -1, widthMax: -1}
		if marker != "" {
			d.component = marker[0]
		}
		presMod := ""
		if comma := strings.LastIndexByte(marker, ','); comma >= 0 {
			widthMod := marker[comma+1:]
			minW, maxW, hasDash := strings.Cut(widthMod, "-")
			parseWidth := func(w string) (int, bool) {
				if w == "" || w == "*" {
					return 0, false
				}
				n, ok := parseIntPrefix(w)
				return n, ok
			}
			d.widthMin, d.hasMin = parseWidth(minW)
			if hasDash {
				d.widthMax, d.hasMax = parseWidth(maxW)
			}
			if comma >= 1 {
				presMod = marker[1:comma]
			}
		} else if len(marker) > 1 {
			presMod = marker[1:]
		}
		switch {
		case len([]rune(presMod)) == 1:
			d.presentation1 = presMod
		case len(presMod) > 1:
			last := presMod[len(presMod)-1]
			if strings.IndexByte("atco", last) >= 0 {
				d.presentation2 = string(last)
				d.ordinal = last == 'o'
				d.presentation1 = presMod[:len(presMod)-1]
			} else {
				d.presentation1 = presMod
			}
		default:
			p, ok := defaultPresentation[d.component]
			if !ok {
				return nil, newError("D3132", withValue(string(d.component)))
			}
			d.presentation1 = p
		}
		switch {
		case strings.HasPrefix(d.presentation1, "n"):
			d.names, d.hasNames = caseLower, true
		case strings.HasPrefix(d.presentation1, "N"):
			d.hasNames = true
			if strings.HasPrefix(d.presentation1[1:], "n") {
				d.names = caseTitle
			} else {
				d.names = caseUpper
			}
		case strings.IndexByte("YMDdFWwXxHhmsf", d.component) >= 0 && d.component != 0:
			pattern := d.presentation1
			if d.presentation2 != "" {
				pattern += ";" + d.presentation2
			}
			f, err := analyseIntegerPicture(pattern)
			if err != nil {
				return nil, err
			}
			d.intFormat = f
			if d.hasMin && f.mandatory < d.widthMin {
				f.mandatory = d.widthMin
			}
			if d.component == 'Y' || d.component == 'M' || d.component == 'D' {
				// these take a fixed number of digits when parsing, so that [Y0001][M01][D01]
				// can read 20180205
				d.n = -1
				if d.hasMax {
					d.n = d.widthMax
					f.mandatory = d.n
				} else if w := f.mandatory + f.optional; w >= 2 {
					d.n = w
				}
			}
		}
		if d.component == 'Z' || d.component == 'z' {
			f, err := analyseIntegerPicture(d.presentation1)
			if err != nil {
				return nil, err
			}
			d.intFormat = f
		}
		spec = append(spec, d)
		pos++
		start = pos
	}
	addLiteral(picture[start:])
	return spec, nil
}

const millisInADay = 24 * 60 * 60 * 1000

func utcMillis(year, month, day int) int64 {
	return time.Date(year, time.Month(month+1), day, 0, 0, 0, 0, time.UTC).UnixMilli()
}

// startOfFirstWeek is the start of ISO week 1 of a year (or, for months, of the month): the week
// containing the first Thursday.
func startOfFirstWeek(year, month int) int64 {
	jan1 := utcMillis(year, month, 1)
	dow := int(time.UnixMilli(jan1).UTC().Weekday())
	if dow == 0 {
		dow = 7
	}
	if dow > 4 {
		return jan1 + int64(8-dow)*millisInADay
	}
	return jan1 - int64(dow-1)*millisInADay
}

func deltaWeeks(start, end int64) float64 {
	return float64(end-start)/float64(millisInADay*7) + 1
}

func nextMonth(y, m int) (int, int) {
	if m == 11 {
		return y + 1, 0
	}
	return y, m + 1
}

func prevMonth(y, m int) (int, int) {
	if m == 0 {
		return y - 1, 11
	}
	return y, m - 1
}

// dateFragment returns the value of one date/time component: a number, or a string for P, C, E.
func dateFragment(t time.Time, component byte) any {
	year, month, day := t.Year(), int(t.Month())-1, t.Day()
	switch component {
	case 'Y':
		return float64(year)
	case 'M':
		return float64(month + 1)
	case 'D':
		return float64(day)
	case 'd':
		today := utcMillis(year, month, day)
		return float64((today-utcMillis(year, 0, 1))/millisInADay + 1)
	case 'F':
		wd := int(t.Weekday())
		if wd == 0 {
			wd = 7
		}
		return float64(wd)
	case 'W':
		start := startOfFirstWeek(year, 0)
		today := utcMillis(year, month, day)
		week := deltaWeeks(start, today)
		if week > 52 {
			if today >= startOfFirstWeek(year+1, 0) {
				week = 1
			}
		} else if week < 1 {
			week = deltaWeeks(startOfFirstWeek(year-1, 0), today)
		}
		return math.Floor(week)
	case 'w':
		start := startOfFirstWeek(year, month)
		today := utcMillis(year, month, day)
		week := deltaWeeks(start, today)
		if week > 4 {
			ny, nm := nextMonth(year, month)
			if today >= startOfFirstWeek(ny, nm) {
				week = 1
			}
		} else if week < 1 {
			py, pm := prevMonth(year, month)
			week = deltaWeeks(startOfFirstWeek(py, pm), today)
		}
		return math.Floor(week)
	case 'X':
		now := t.UnixMilli()
		switch {
		case now < startOfFirstWeek(year, 0):
			return float64(year - 1)
		case now >= startOfFirstWeek(year+1, 0):
			return float64(year + 1)
		}
		return float64(year)
	case 'x':
		now := t.UnixMilli()
		ny, nm := nextMonth(year, month)
		switch {
		case now < startOfFirstWeek(year, month):
			_, pm := prevMonth(year, month)
			return float64(pm + 1)
		case now >= startOfFirstWeek(ny, nm):
			return float64(nm + 1)
		}
		return float64(month + 1)
	case 'H':
		return float64(t.Hour())
	case 'h':
		h := t.Hour() % 12
		if h == 0 {
			h = 12
		}
		return float64(h)
	case 'P':
		if t.Hour() >= 12 {
			return "pm"
		}
		return "am"
	case 'm':
		return float64(t.Minute())
	case 's':
		return float64(t.Second())
	case 'f':
		return float64(t.Nanosecond() / 1e6)
	case 'C', 'E':
		return "ISO"
	}
	return nil
}

var iso8601Picture = "[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001][Z01:01t]"

// formatDateTime formats a time as $fromMillis does. A picture can ask for wide components
// (width modifiers), so the text is charged to b as it grows.
func formatDateTime(millis float64, picture string, hasPicture bool, timezone string, hasTimezone bool, b *budget) (string, error) {
	offsetHours, offsetMinutes := 0, 0
	if hasTimezone {
		offset, _ := parseIntPrefix(timezone)
		offsetHours = int(math.Floor(float64(offset) / 100))
		offsetMinutes = offset % 100
	}
	if !hasPicture {
		picture = iso8601Picture
	}
	spec, err := analyseDateTimePicture(picture)
	if err != nil {
		return "", err
	}
	offsetMillis := int64(60*offsetHours+offsetMinutes) * 60 * 1000
	t := time.UnixMilli(int64(millis) + offsetMillis).UTC()
	var sb strings.Builder
	for _, part := range spec {
		if part.isLiteral {
			sb.WriteString(part.literal)
			continue
		}
		s, err := formatDateComponent(t, part, offsetHours, offsetMinutes, b)
		if err != nil {
			return "", err
		}
		if err := b.fits(int64(sb.Len() + len(s))); err != nil {
			return "", err
		}
		sb.WriteString(s)
	}
	if err := b.alloc(int64(sb.Len())); err != nil {
		return "", err
	}
	return sb.String(), nil
}

func formatDateComponent(t time.Time, m *dateMarker, offsetHours, offsetMinutes int, b *budget) (string, error) {
	value := dateFragment(t, m.component)
	switch {
	case strings.IndexByte("YMDdFWwXxHhms", m.component) >= 0 && m.component != 0:
		num, _ := value.(float64)
		if m.component == 'Y' && m.n != -1 {
			num = math.Mod(num, math.Pow(10, float64(m.n)))
		}
		if m.hasNames {
			var name string
			switch m.component {
			case 'M', 'x':
				name = monthNames[int(num)-1]
			case 'F':
				name = dayNames[int(num)]
			default:
				return "", newError("D3133", withValue(string(m.component)))
			}
			switch m.names {
			case caseUpper:
				name = strings.ToUpper(name)
			case caseLower:
				name = strings.ToLower(name)
			}
			if m.hasMax && len(name) > m.widthMax {
				name = name[:m.widthMax]
			}
			return name, nil
		}
		return formatIntegerValue(num, m.intFormat, b)
	case m.component == 'f':
		if m.hasNames {
			return "", newError("D3133", withValue(string(m.component)))
		}
		return formatIntegerValue(value.(float64), m.intFormat, b)
	case m.component == 'Z' || m.component == 'z':
		offset := offsetHours*100 + offsetMinutes
		var s string
		var err error
		if m.intFormat.regular {
			s, err = formatIntegerValue(float64(offset), m.intFormat, b)
		} else {
			switch digits := m.intFormat.mandatory; {
			case digits == 1 || digits == 2:
				s, err = formatIntegerValue(float64(offsetHours), m.intFormat, b)
				if offsetMinutes != 0 {
					mf, _ := analyseIntegerPicture("00")
					ms, _ := formatIntegerValue(float64(offsetMinutes), mf, b)
					s += ":" + ms
				}
			case digits == 3 || digits == 4:
				s, err = formatIntegerValue(float64(offset), m.intFormat, b)
			default:
				return "", newError("D3134", withValue(float64(digits)))
			}
		}
		if err != nil {
			return "", err
		}
		if offset >= 0 {
			s = "+" + s
		}
		if m.component == 'z' {
			s = "GMT" + s
		}
		if offset == 0 && m.presentation2 == "t" {
			s = "Z"
		}
		return s, nil
	case m.component == 'P':
		s, _ := value.(string)
		if m.hasNames && m.names == caseUpper {
			s = strings.ToUpper(s)
		}
		return s, nil
	}
	if s, ok := value.(string); ok {
		return s, nil
	}
	return "", nil
}

// dateMatcher builds the parser for one part of a date/time picture.
func dateMatcher(part *dateMarker) (*componentMatcher, error) {
	if part.isLiteral {
		return &componentMatcher{regex: regexp.QuoteMeta(part.literal)}, nil
	}
	switch {
	case part.component == 'Z' || part.component == 'z':
		var sep *groupSep
		if part.intFormat.regular {
			sep = &part.intFormat.regularSep
		}
		re := ""
		if part.component == 'z' {
			re = "GMT"
		}
		re += "[-+][0-9]+"
		if sep != nil {
			re += regexp.QuoteMeta(string(sep.char)) + "[0-9]+"
		}
		comp := part.component
		return &componentMatcher{regex: re, component: comp, parse: func(v string) any {
			if comp == 'z' {
				v = strings.TrimPrefix(v, "GMT")
			}
			h, m := 0, 0
			if sep != nil {
				i := strings.IndexRune(v, sep.char)
				h, _ = parseIntPrefix(v[:i])
				m, _ = parseIntPrefix(v[i+len(string(sep.char)):])
			} else if len(v)-1 <= 2 {
				h, _ = parseIntPrefix(v)
			} else {
				h, _ = parseIntPrefix(v[:3])
				m, _ = parseIntPrefix(v[3:])
			}
			return float64(h*60 + m)
		}}, nil
	case part.intFormat != nil:
		part.intFormat.n = part.n
		m, err := integerMatcher(part.intFormat)
		if err != nil {
			return nil, err
		}
		m.component = part.component
		return m, nil
	}
	lookup := map[string]float64{}
	switch part.component {
	case 'M', 'x':
		for i, name := range monthNames {
			if part.hasMax && part.widthMax < len(name) {
				name = name[:part.widthMax]
			}
			lookup[name] = float64(i + 1)
		}
	case 'F':
		for i, name := range dayNames[1:] {
			if part.hasMax && part.widthMax < len(name) {
				name = name[:part.widthMax]
			}
			lookup[name] = float64(i + 1)
		}
	case 'P':
		lookup = map[string]float64{"am": 0, "AM": 0, "pm": 1, "PM": 1}
	default:
		return nil, newError("D3133", withValue(string(part.component)))
	}
	return &componentMatcher{regex: "[a-zA-Z]+", component: part.component, parse: func(v string) any {
		if n, ok := lookup[v]; ok {
			return n
		}
		return nil
	}}, nil
}

// parseDateTime implements $toMillis with a picture. Missing components are defaulted as the
// reference does: more significant ones from the current time, less significant ones to zero.
func parseDateTime(timestamp, picture string, now time.Time) (any, error) {
	spec, err := analyseDateTimePicture(picture)
	if err != nil {
		return nil, err
	}
	matchers := make([]*componentMatcher, len(spec))
	var sb strings.Builder
	sb.WriteString("(?i)^")
	for i, part := range spec {
		m, err := dateMatcher(part)
		if err != nil {
			return nil, err
		}
		matchers[i] = m
		sb.WriteString("(" + m.regex + ")")
	}
	sb.WriteString("$")
	re, err := regexp.Compile(sb.String())
	if err != nil {
		return nil, nil
	}
	info := re.FindStringSubmatch(timestamp)
	if info == nil {
		return nil, nil
	}
	components := map[byte]float64{}
	for i, m := range matchers {
		if m.parse == nil {
			continue
		}
		if v, ok := m.parse(info[i+1]).(float64); ok {
			components[m.component] = v
		} else {
			components[m.component] = math.NaN()
		}
	}
	if len(components) == 0 {
		return nil, nil
	}
	mask := 0
	shift := func(c byte) {
		mask <<= 1
		if _, ok := components[c]; ok {
			mask++
		}
	}
	isType := func(t int) bool { return ^t&mask == 0 && t&mask != 0 }
	for _, c := range []byte("YXMxWwdD") {
		shift(c)
	}
	dateA := isType(161)
	dateB := !dateA && isType(130)
	dateC := isType(84)
	dateD := !dateC && isType(72)
	mask = 0
	for _, c := range []byte("PHhmsf") {
		shift(c)
	}
	timeA := isType(23)
	timeB := !timeA && isType(47)
	dateComps := "YMD"
	switch {
	case dateB:
		dateComps = "Yd"
	case dateC:
		dateComps = "XxwF"
	case dateD:
		dateComps = "XWF"
	}
	timeComps := "Hmsf"
	if timeB {
		timeComps = "Phmsf"
	}
	startSpecified, endSpecified := false, false
	for _, c := range []byte(dateComps + timeComps) {
		if _, ok := components[c]; !ok {
			if startSpecified {
				if strings.IndexByte("MDd", c) >= 0 {
					components[c] = 1
				} else {
					components[c] = 0
				}
				endSpecified = true
			} else {
				v, _ := dateFragment(now, c).(float64)
				components[c] = v
			}
		} else {
			startSpecified = true
			if endSpecified {
				return nil, newError("D3136")
			}
		}
	}
	if components['M'] > 0 {
		components['M']--
	} else {
		components['M'] = 0
	}
	if dateB {
		t := time.UnixMilli(utcMillis(int(components['Y']), 0, 1) + int64(components['d']-1)*millisInADay).UTC()
		components['M'] = float64(t.Month() - 1)
		components['D'] = float64(t.Day())
	}
	if dateC || dateD {
		return nil, newError("D3136")
	}
	if timeB {
		h := components['h']
		if h == 12 {
			h = 0
		}
		if components['P'] == 1 {
			h += 12
		}
		components['H'] = h
	}
	for _, v := range components {
		if math.IsNaN(v) {
			return nil, nil
		}
	}
	year := int(components['Y'])
	if year >= 0 && year <= 99 {
		// Date.UTC reads two-digit years as 19xx
		year += 1900
	}
	t := time.Date(year, time.Month(int(components['M'])+1), int(components['D']), int(components['H']),
		int(components['m']), int(components['s']), int(components['f'])*1e6, time.UTC)
	millis := float64(t.UnixMilli())
	if z, ok := components['Z']; ok && z != 0 {
		millis -= z * 60 * 1000
	} else if z, ok := components['z']; ok && z != 0 {
		millis -= z * 60 * 1000
	}
	return millis, nil
}

var iso8601 = regexp.MustCompile(`^(\d{4})(?:-([01]\d))?(?:-([0-3]\d))?(?:T([0-2]\d):([0-5]\d):([0-5]\d))?(\.\d+)?([+-][0-2]\d:?[0-5]\d|Z)?$`)

var iso8601Loose = regexp.MustCompile(`^\d{4}(-[01]\d)*(-[0-3]\d)*(T[0-2]\d:[0-5]\d:[0-5]\d)*(\.\d+)?([+-][0-2]\d:?[0-5]\d|Z)?$`)

func fnToMillis(c call, args []any) (any, error) {
	s, ok := argAt(args, 0).(string)
	if !ok {
		return nil, nil
	}
	if picture, ok := argAt(args, 1).(string); ok {
		return parseDateTime(s, picture, c.ev.now.UTC())
	}
	if !iso8601Loose.MatchString(s) {
		return nil, newError("D3110", withValue(s))
	}
	// Date.parse yields NaN for what the loose pattern lets through but is no date
	invalid := math.NaN()
	m := iso8601.FindStringSubmatch(s)
	if m == nil {
		return invalid, nil
	}
	atoi := func(v string, def int) int {
		if v == "" {
			return def
		}
		n, _ := strconv.Atoi(v)
		return n
	}
	year, month, day := atoi(m[1], 0), atoi(m[2], 1), atoi(m[3], 1)
	hour, minute, second := atoi(m[4], 0), atoi(m[5], 0), atoi(m[6], 0)
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 24 {
		return invalid, nil
	}
	nanos := 0
	if m[7] != "" {
		frac := (m[7][1:] + "000")[:3]
		nanos = atoi(frac, 0) * 1e6
	}
	// out-of-range days roll over (2020-02-30 is 1 March), as in V8
	millis := time.Date(year, time.Month(month), day, hour, minute, second, nanos, time.UTC).UnixMilli()
	if z := m[8]; z != "" && z != "Z" {
		sign := int64(1)
		if z[0] == '-' {
			sign = -1
		}
		digits := strings.ReplaceAll(z[1:], ":", "")
		oh, om := atoi(digits[:2], 0), atoi(digits[2:], 0)
		millis -= sign * int64(oh*60+om) * 60 * 1000
	}
	return float64(millis), nil
}

func fnFromMillis(c call, args []any) (any, error) {
	x, ok := argAt(args, 0).(float64)
	if !ok {
		return nil, nil
	}
	picture, hasPicture := argAt(args, 1).(string)
	tz, hasTZ := argAt(args, 2).(string)
	return formatDateTime(math.Trunc(x), picture, hasPicture, tz, hasTZ, &c.ev.mem)
}

func fnNow(c call, args []any) (any, error) {
	picture, hasPicture := argAt(args, 0).(string)
	tz, hasTZ := argAt(args, 1).(string)
	return formatDateTime(float64(c.ev.now.UnixMilli()), picture, hasPicture, tz, hasTZ, &c.ev.mem)
}
