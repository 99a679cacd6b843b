package jsonata

import (
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/stepline/stepline/internal/jsonv"
)

func fnRound(c call, args []any) (any, error) {
	x, ok := argAt(args, 0).(float64)
	if !ok {
		return nil, nil
	}
	p, _ := argAt(args, 1).(float64)
	return roundHalfEven(x, p), nil
}

// shiftDecimal multiplies x by 10^by through its decimal text, as the reference does to avoid
// binary noise from multiplying by a power of ten.
func shiftDecimal(x, by float64) float64 {
	mant, exp, hasExp := strings.Cut(formatNumber(x), "e")
	e := by
	if hasExp {
		n, _ := strconv.ParseFloat(exp, 64)
		e += n
	}
	f, err := strconv.ParseFloat(mant+"e"+formatNumber(e), 64)
	if err != nil {
		return math.NaN()
	}
	return f
}

// roundHalfEven is $round: round half to even at the given number of decimal places.
func roundHalfEven(x, precision float64) float64 {
	if precision != 0 {
		x = shiftDecimal(x, precision)
	}
	r := math.Floor(x)
	if x-r >= 0.5 {
		r++
	}
	if math.Abs(r-x) == 0.5 && math.Abs(math.Mod(r, 2)) == 1 {
		r--
	}
	if precision != 0 {
		r = shiftDecimal(r, -precision)
	}
	if r == 0 {
		r = 0 // no negative zero
	}
	return r
}

func fnFormatBase(c call, args []any) (any, error) {
	x, ok := argAt(args, 0).(float64)
	if !ok {
		return nil, nil
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil, newError("D1001", withValue(x))
	}
	x = roundHalfEven(x, 0)
	radix := 10.0
	if r, ok := argAt(args, 1).(float64); ok {
		radix = roundHalfEven(r, 0)
	}
	if radix < 2 || radix > 36 {
		return nil, newError("D3100", withValue(radix))
	}
	if math.Abs(x) < 1<<62 {
		return strconv.FormatInt(int64(x), int(radix)), nil
	}
	b, _ := big.NewFloat(x).Int(nil)
	return b.Text(int(radix)), nil
}

// decimalFormat holds the symbols of an XPath decimal format.
type decimalFormat struct {
	decimal, grouping, exponent, percent, perMille, zero, digit, pattern, minus rune
	infinity, nan                                                               string
}

func defaultDecimalFormat() decimalFormat {
	return decimalFormat{
		decimal: '.', grouping: ',', exponent: 'e', percent: '%', perMille: '\u2030',
		zero: '0', digit: '#', pattern: ';', minus: '-', infinity: "Infinity", nan: "NaN",
	}
}

type pictureParts struct {
	prefix, suffix, active, mantissa, integer, fraction []rune
	exponent                                            []rune
	hasExponent                                         bool
	sub                                                 []rune
}

type pictureVars struct {
	integerGroups    []int
	regularGrouping  int
	minInteger       int
	scalingFactor    int
	prefix, suffix   string
	fractionGroups   []int
	minFraction      int
	maxFraction      int
	minExponent      int
	picture          []rune
	hasExponentField bool
}

func indexRune(s []rune, r rune) int {
	for i, c := range s {
		if c == r {
			return i
		}
	}
	return -1
}

func lastIndexRune(s []rune, r rune) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == r {
			return i
		}
	}
	return -1
}

func indexRunes(s, sub []rune, from int) int {
	for i := max(from, 0); i+len(sub) <= len(s); i++ {
		if string(s[i:i+len(sub)]) == string(sub) {
			return i
		}
	}
	return -1
}

// fnFormatNumber implements $formatNumber, the XPath 3.1 fn:format-number algorithm as the
// reference implements it.
func fnFormatNumber(c call, args []any) (any, error) {
	value, ok := argAt(args, 0).(float64)
	if !ok {
		return nil, nil
	}
	picture, _ := argAt(args, 1).(string)
	f := defaultDecimalFormat()
	if o, ok := argAt(args, 2).(*jsonv.Object); ok {
		for _, m := range o.Members() {
			s, _ := norm(m.Value).(string)
			r := []rune(s)
			first := rune(0)
			if len(r) > 0 {
				first = r[0]
			}
			switch m.Key {
			case "decimal-separator":
				f.decimal = first
			case "grouping-separator":
				f.grouping = first
			case "exponent-separator":
				f.exponent = first
			case "percent":
				f.percent = first
			case "per-mille":
				f.perMille = first
			case "zero-digit":
				f.zero = first
			case "digit":
				f.digit = first
			case "pattern-separator":
				f.pattern = first
			case "minus-sign":
				f.minus = first
			case "infinity":
				f.infinity = s
			case "NaN":
				f.nan = s
			}
		}
	}
	r, err := formatNumberPicture(value, picture, f)
	if s, ok := r.(string); ok && err == nil {
		// the text is about as long as the picture, which was charged, but padded to it
		err = c.ev.allocString(len(s))
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

func formatNumberPicture(value float64, picture string, f decimalFormat) (any, error) {
	if math.IsInf(value, 0) {
		return nil, newError("D1001", withValue(value))
	}
	isDigit := func(r rune) bool { return r >= f.zero && r < f.zero+10 }
	isActive := func(r rune) bool {
		return isDigit(r) || r == f.decimal || r == f.exponent || r == f.grouping || r == f.digit || r == f.pattern
	}
	subs := strings.Split(picture, string(f.pattern))
	if len(subs) > 2 {
		return nil, newError("D3080")
	}
	split := func(sub []rune) pictureParts {
		var p pictureParts
		p.sub = sub
		start := -1
		for i, ch := range sub {
			if isActive(ch) && ch != f.exponent {
				start = i
				break
			}
		}
		if start < 0 {
			p.prefix = sub
		} else {
			p.prefix = sub[:start]
		}
		end := -1
		for i := len(sub) - 1; i >= 0; i-- {
			if isActive(sub[i]) && sub[i] != f.exponent {
				end = i
				break
			}
		}
		if end < 0 {
			p.suffix = nil
		} else {
			p.suffix = sub[end+1:]
		}
		if len(p.prefix)+len(p.suffix) <= len(sub) {
			p.active = sub[len(p.prefix) : len(sub)-len(p.suffix)]
		}
		expPos := indexRunes(sub, []rune{f.exponent}, len(p.prefix))
		if expPos < 0 || expPos > len(sub)-len(p.suffix) {
			p.mantissa = p.active
		} else {
			p.mantissa = p.active[:min(expPos, len(p.active))]
			if expPos+1 <= len(p.active) {
				p.exponent = p.active[expPos+1:]
			}
			p.hasExponent = true
		}
		dp := indexRune(p.mantissa, f.decimal)
		if dp < 0 {
			p.integer = p.mantissa
			p.fraction = p.suffix
		} else {
			p.integer = p.mantissa[:dp]
			p.fraction = p.mantissa[dp+1:]
		}
		return p
	}
	validate := func(p pictureParts) error {
		code := ""
		sub := p.sub
		dp := indexRune(sub, f.decimal)
		if dp != lastIndexRune(sub, f.decimal) {
			code = "D3081"
		}
		if indexRune(sub, f.percent) != lastIndexRune(sub, f.percent) {
			code = "D3082"
		}
		if indexRune(sub, f.perMille) != lastIndexRune(sub, f.perMille) {
			code = "D3083"
		}
		if indexRune(sub, f.percent) >= 0 && indexRune(sub, f.perMille) >= 0 {
			code = "D3084"
		}
		valid := false
		for _, ch := range p.mantissa {
			if isDigit(ch) || ch == f.digit {
				valid = true
				break
			}
		}
		if !valid {
			code = "D3085"
		}
		for _, ch := range p.active {
			if !isActive(ch) {
				code = "D3086"
			}
		}
		if dp >= 0 {
			if (dp > 0 && sub[dp-1] == f.grouping) || (dp+1 < len(sub) && sub[dp+1] == f.grouping) {
				code = "D3087"
			}
		} else if len(p.integer) > 0 && p.integer[len(p.integer)-1] == f.grouping {
			code = "D3088"
		}
		if indexRunes(sub, []rune{f.grouping, f.grouping}, 0) >= 0 {
			code = "D3089"
		}
		if od := indexRune(p.integer, f.digit); od >= 0 {
			for _, ch := range p.integer[:od] {
				if isDigit(ch) {
					code = "D3090"
				}
			}
		}
		if od := lastIndexRune(p.fraction, f.digit); od >= 0 {
			for _, ch := range p.fraction[od:] {
				if isDigit(ch) {
					code = "D3091"
				}
			}
		}
		if p.hasExponent {
			if len(p.exponent) > 0 && (indexRune(sub, f.percent) >= 0 || indexRune(sub, f.perMille) >= 0) {
				code = "D3092"
			}
			bad := len(p.exponent) == 0
			for _, ch := range p.exponent {
				if !isDigit(ch) {
					bad = true
				}
			}
			if bad {
				code = "D3093"
			}
		}
		if code != "" {
			return newError(code)
		}
		return nil
	}
	analyse := func(p pictureParts) pictureVars {
		groupPositions := func(part []rune, toLeft bool) []int {
			var positions []int
			pos := indexRune(part, f.grouping)
			for pos >= 0 {
				// the next position comes from the integer part (as in the reference), so it
				// may lie beyond this part; JavaScript's substring clamps it
				at := min(pos, len(part))
				var chars []rune
				if toLeft {
					chars = part[:at]
				} else {
					chars = part[at:]
				}
				n := 0
				for _, ch := range chars {
					if isDigit(ch) || ch == f.digit {
						n++
					}
				}
				positions = append(positions, n)
				// the reference searches the integer part for the next separator
				next := indexRunes(p.integer, []rune{f.grouping}, pos+1)
				pos = next
			}
			return positions
		}
		v := pictureVars{prefix: string(p.prefix), suffix: string(p.suffix), picture: p.sub}
		v.integerGroups = groupPositions(p.integer, false)
		v.regularGrouping = regularInterval(v.integerGroups)
		v.fractionGroups = groupPositions(p.fraction, true)
		for _, ch := range p.integer {
			if isDigit(ch) {
				v.minInteger++
			}
		}
		v.scalingFactor = v.minInteger
		for _, ch := range p.fraction {
			if isDigit(ch) {
				v.minFraction++
			}
			if isDigit(ch) || ch == f.digit {
				v.maxFraction++
			}
		}
		if v.minInteger == 0 && v.maxFraction == 0 {
			if p.hasExponent {
				v.minFraction, v.maxFraction = 1, 1
			} else {
				v.minInteger = 1
			}
		}
		if p.hasExponent && v.minInteger == 0 && indexRune(p.integer, f.digit) >= 0 {
			v.minInteger = 1
		}
		if v.minInteger == 0 && v.minFraction == 0 {
			v.minFraction = 1
		}
		if p.hasExponent {
			v.hasExponentField = true
			for _, ch := range p.exponent {
				if isDigit(ch) {
					v.minExponent++
				}
			}
		}
		return v
	}

	var vars []pictureVars
	for _, s := range subs {
		p := split([]rune(s))
		if err := validate(p); err != nil {
			return nil, err
		}
		vars = append(vars, analyse(p))
	}
	if len(vars) == 1 {
		neg := vars[0]
		neg.prefix = string(f.minus) + neg.prefix
		vars = append(vars, neg)
	}
	pic := vars[0]
	if value < 0 {
		pic = vars[1]
	}
	adjusted := value
	if indexRune(pic.picture, f.percent) >= 0 {
		adjusted = value * 100
	} else if indexRune(pic.picture, f.perMille) >= 0 {
		adjusted = value * 1000
	}
	mantissa := adjusted
	exponent := 0
	hasExp := pic.minExponent != 0
	if hasExp {
		maxM := math.Pow(10, float64(pic.scalingFactor))
		minM := math.Pow(10, float64(pic.scalingFactor-1))
		// the reference loops on the signed value, which never ends for negative numbers
		for math.Abs(mantissa) < minM && mantissa != 0 {
			mantissa *= 10
			exponent--
		}
		for math.Abs(mantissa) > maxM {
			mantissa /= 10
			exponent++
		}
	}
	rounded := roundHalfEven(mantissa, float64(pic.maxFraction))
	makeString := func(v float64, dp int) []rune {
		// Number.prototype.toFixed switches to exponent form from 1e21
		text := strconv.FormatFloat(math.Abs(v), 'f', dp, 64)
		if math.Abs(v) >= 1e21 {
			text = formatNumber(math.Abs(v))
		}
		s := []rune(text)
		if f.zero != '0' {
			for i, ch := range s {
				if ch >= '0' && ch <= '9' {
					s[i] = f.zero + (ch - '0')
				}
			}
		}
		return s
	}
	str := makeString(rounded, pic.maxFraction)
	if dp := indexRune(str, '.'); dp < 0 {
		str = append(str, f.decimal)
	} else {
		str[dp] = f.decimal
	}
	for len(str) > 0 && str[0] == f.zero {
		str = str[1:]
	}
	for len(str) > 0 && str[len(str)-1] == f.zero {
		str = str[:len(str)-1]
	}
	dp := indexRune(str, f.decimal)
	padLeft := pic.minInteger - dp
	padRight := pic.minFraction - (len(str) - dp - 1)
	if padLeft > 0 {
		str = append([]rune(strings.Repeat(string(f.zero), padLeft)), str...)
	}
	if padRight > 0 {
		str = append(str, []rune(strings.Repeat(string(f.zero), padRight))...)
	}
	dp = indexRune(str, f.decimal)
	insert := func(s []rune, at int, r rune) []rune {
		out := make([]rune, 0, len(s)+1)
		out = append(out, s[:at]...)
		out = append(out, r)
		return append(out, s[at:]...)
	}
	if pic.regularGrouping > 0 {
		groups := (dp - 1) / pic.regularGrouping
		for g := 1; g <= groups; g++ {
			str = insert(str, dp-g*pic.regularGrouping, f.grouping)
		}
	} else {
		for _, pos := range pic.integerGroups {
			if at := dp - pos; at >= 0 && at <= len(str) {
				str = insert(str, at, f.grouping)
				dp++
			}
		}
	}
	dp = indexRune(str, f.decimal)
	for _, pos := range pic.fractionGroups {
		if at := pos + dp + 1; at <= len(str) {
			str = insert(str, at, f.grouping)
		}
	}
	dp = indexRune(str, f.decimal)
	if indexRune(pic.picture, f.decimal) < 0 || dp == len(str)-1 {
		str = str[:len(str)-1]
	}
	if hasExp {
		es := makeString(float64(exponent), 0)
		if pad := pic.minExponent - len(es); pad > 0 {
			es = append([]rune(strings.Repeat(string(f.zero), pad)), es...)
		}
		str = append(str, f.exponent)
		if exponent < 0 {
			str = append(str, f.minus)
		}
		str = append(str, es...)
	}
	return pic.prefix + string(str) + pic.suffix, nil
}

// regularInterval returns the common interval of grouping positions, or 0 if they are not
// evenly spaced.
func regularInterval(positions []int) int {
	if len(positions) == 0 {
		return 0
	}
	gcd := func(a, b int) int {
		for b != 0 {
			a, b = b, a%b
		}
		return a
	}
	factor := positions[0]
	for _, p := range positions[1:] {
		factor = gcd(factor, p)
	}
	if factor == 0 {
		return 0
	}
	for i := 1; i <= len(positions); i++ {
		found := false
		for _, p := range positions {
			if p == i*factor {
				found = true
				break
			}
		}
		if !found {
			return 0
		}
	}
	return factor
}
