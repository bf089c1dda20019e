package logmap

import (
	"math"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// appendUnescaped appends the JSON string body raw (without quotes, already
// checked by scanner.str) with its escapes resolved. A lone UTF-16
// surrogate becomes U+FFFD, as encoding/json does.
func appendUnescaped(dst, raw []byte) []byte {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		i++
		switch raw[i] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := rune(hex4(raw[i+1 : i+5]))
			i += 4
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
					r2 = rune(hex4(raw[i+3 : i+7]))
				}
				if combined := utf16.DecodeRune(r, r2); combined != utf8.RuneError {
					r = combined
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
		default: // '"', '\\', '/'
			dst = append(dst, raw[i])
		}
	}
	return dst
}

func hex4(b []byte) uint16 {
	var v uint16
	for _, c := range b {
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v |= uint16(c - '0')
		case c >= 'a' && c <= 'f':
			v |= uint16(c - 'a' + 10)
		default:
			v |= uint16(c - 'A' + 10)
		}
	}
	return v
}

// stringValue returns the text of a captured value: a string decoded, with
// invalid UTF-8 replaced by U+FFFD, and any other value as its compact JSON
// text. scratch is reused for decoding escapes.
func stringValue(src []byte, sp span, scratch *[]byte) string {
	raw := src[sp.start:sp.end]
	switch sp.kind {
	case kindString:
		body := raw[1 : len(raw)-1]
		if sp.escaped {
			*scratch = appendUnescaped((*scratch)[:0], body)
			body = *scratch
		}
		if !utf8.Valid(body) {
			return strings.ToValidUTF8(string(body), "\uFFFD")
		}
		return string(body)
	case kindObject, kindArray:
		return compactJSON(raw)
	default:
		return string(raw)
	}
}

// compactJSON returns raw, which the scanner has checked, without
// insignificant whitespace and with invalid UTF-8 replaced by U+FFFD.
func compactJSON(raw []byte) string {
	out := make([]byte, 0, len(raw))
	inString := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case inString:
			out = append(out, c)
			if c == '\\' {
				i++
				out = append(out, raw[i])
			} else if c == '"' {
				inString = false
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		default:
			out = append(out, c)
			inString = c == '"'
		}
	}
	if !utf8.Valid(out) {
		return strings.ToValidUTF8(string(out), "\uFFFD")
	}
	return string(out)
}

// cutUTF8 returns the longest prefix of s of at most n bytes that ends at a
// UTF-8 character boundary.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// timestampError is the reason a timestamp value was not used.
type timestampError struct {
	reason string // ReasonMissingTimestamp or ReasonInvalidTimestamp
	detail string
}

// Nanosecond bounds of what Loki stores: an int64 count of nanoseconds
// since the Unix epoch, about 1677-09-21 to 2262-04-11.
const (
	minUnixSeconds = math.MinInt64/int64(time.Second) + 1
	maxUnixSeconds = math.MaxInt64/int64(time.Second) - 1
)

// parseTimestamp reads a captured timestamp in the forms of
// Elasticsearch's default date format, strict_date_optional_time||epoch_millis:
// an ISO 8601 date string (nanoseconds kept), or epoch milliseconds as a
// JSON number or a string of digits. It returns nanoseconds since the epoch.
func parseTimestamp(src []byte, sp span) (int64, *timestampError) {
	raw := src[sp.start:sp.end]
	switch sp.kind {
	case kindNone, kindNull:
		return 0, &timestampError{reason: ReasonMissingTimestamp}
	case kindNumber:
		if ns, ok := parseEpochMillis(raw); ok {
			return ns, nil
		}
		return 0, &timestampError{reason: ReasonInvalidTimestamp, detail: "epoch milliseconds " + string(raw) + " are outside the range Loki stores (years 1678 to 2262)"}
	case kindString:
		body := raw[1 : len(raw)-1]
		if sp.escaped {
			body = appendUnescaped(nil, body)
		}
		if len(body) == 0 {
			return 0, &timestampError{reason: ReasonMissingTimestamp, detail: "the timestamp is an empty string"}
		}
		if isEpochDigits(body) {
			if ns, ok := parseEpochMillis(body); ok {
				return ns, nil
			}
			return 0, &timestampError{reason: ReasonInvalidTimestamp, detail: "epoch milliseconds " + quoteCut(body) + " are outside the range Loki stores (years 1678 to 2262)"}
		}
		ns, msg := parseDate(body)
		if msg != "" {
			return 0, &timestampError{reason: ReasonInvalidTimestamp, detail: quoteCut(body) + ": " + msg}
		}
		return ns, nil
	default:
		return 0, &timestampError{reason: ReasonInvalidTimestamp, detail: "the timestamp is a JSON " + sp.kind.String() + ", not a date string or epoch milliseconds"}
	}
}

func (k kind) String() string {
	switch k {
	case kindString:
		return "string"
	case kindNumber:
		return "number"
	case kindBool:
		return "boolean"
	case kindNull:
		return "null"
	case kindObject:
		return "object"
	case kindArray:
		return "array"
	}
	return "missing value"
}

// quoteCut quotes b for an error detail, cut to 64 bytes.
func quoteCut(b []byte) string {
	s := string(b)
	if len(s) > 64 {
		s = cutUTF8(s, 64) + "..."
	}
	return `"` + strings.ToValidUTF8(s, "\uFFFD") + `"`
}

func isEpochDigits(b []byte) bool {
	i := 0
	if b[0] == '-' {
		i = 1
	}
	if i == len(b) {
		return false
	}
	for ; i < len(b); i++ {
		if b[i] < '0' || b[i] > '9' {
			return false
		}
	}
	return true
}

// parseEpochMillis reads a JSON number of milliseconds since the epoch,
// exactly: digits below a nanosecond are cut.
func parseEpochMillis(b []byte) (int64, bool) {
	neg := false
	i := 0
	if i < len(b) && b[i] == '-' {
		neg = true
		i++
	}
	// The number is mantissa * 10^shift nanoseconds, where mantissa is the
	// digits without the decimal point.
	var mantissa []byte
	var buf [32]byte
	mantissa = buf[:0]
	shift := 6 // milliseconds to nanoseconds
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		mantissa = append(mantissa, b[i])
	}

	if i < len(b) && b[i] == '.' {
		for i++; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			mantissa = append(mantissa, b[i])
			shift--
		}
	}

	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		expNeg := false
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			expNeg = b[i] == '-'
			i++
		}
		exp := 0
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			if exp < 1000 {
				exp = exp*10 + int(b[i]-'0')
			}
		}
		if expNeg {
			exp = -exp
		}
		shift += exp
	}

	if i != len(b) {
		return 0, false
	}

	if shift < 0 {
		cut := min(-shift, len(mantissa))
		mantissa = mantissa[:len(mantissa)-cut]
		shift = 0
	}

	var ns int64
	for _, c := range mantissa {
		if ns > (math.MaxInt64-9)/10 {
			return 0, false
		}
		ns = ns*10 + int64(c-'0')
	}
	for ; shift > 0 && ns != 0; shift-- {
		if ns > math.MaxInt64/10 {
			return 0, false
		}
		ns *= 10
	}

	if neg {
		ns = -ns
	}
	return ns, true
}

// parseDate reads an ISO 8601 date: yyyy-MM-dd, optionally followed by 'T'
// (or a space) and HH:mm, :ss and a fraction of up to nine digits (more
// are cut), then Z, ±HH:mm, ±HHmm or ±HH. Without a zone the time is UTC.
// It returns nanoseconds since the epoch, or a message.
func parseDate(b []byte) (int64, string) {
	p := dateParser{b: b}
	year := p.num(4)
	if !p.ok || !p.lit('-') {
		return 0, "not a date: expected yyyy-MM-dd at the start"
	}
	month := p.num(2)
	if !p.ok || !p.lit('-') {
		return 0, "not a date: expected yyyy-MM-dd at the start"
	}
	day := p.num(2)
	if !p.ok {
		return 0, "not a date: expected yyyy-MM-dd at the start"
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, month) {
		return 0, "no such day"
	}

	var hour, minute, second, nanos, offset int
	if p.i < len(b) && (b[p.i] == 'T' || b[p.i] == 't' || b[p.i] == ' ') {
		p.i++
		hour = p.num(2)
		if !p.ok || !p.lit(':') {
			return 0, "invalid time of day: expected HH:mm"
		}
		minute = p.num(2)
		if !p.ok {
			return 0, "invalid time of day: expected HH:mm"
		}
		if p.i < len(b) && b[p.i] == ':' {
			p.i++
			second = p.num(2)
			if !p.ok {
				return 0, "invalid seconds"
			}
			if p.i < len(b) && (b[p.i] == '.' || b[p.i] == ',') {
				p.i++
				start := p.i
				scale := 100000000
				for p.i < len(b) && b[p.i] >= '0' && b[p.i] <= '9' {
					nanos += int(b[p.i]-'0') * scale
					scale /= 10
					p.i++
				}
				if p.i == start {
					return 0, "no digits after the decimal point of the seconds"
				}
			}
		}
		if hour > 23 || minute > 59 || second > 59 {
			return 0, "time of day out of range"
		}
	}

	if p.i < len(b) {
		var msg string
		if offset, msg = p.zone(); msg != "" {
			return 0, msg
		}
	}

	if p.i != len(b) {
		return 0, "unexpected text after the date"
	}

	secs := time.Date(year, time.Month(month), day, hour, minute, second, 0, time.UTC).Unix() - int64(offset)
	if secs < minUnixSeconds || secs > maxUnixSeconds {
		return 0, "outside the range Loki stores (years 1678 to 2262)"
	}
	return secs*int64(time.Second) + int64(nanos), ""
}

type dateParser struct {
	b  []byte
	i  int
	ok bool
}

// num reads exactly n decimal digits.
func (p *dateParser) num(n int) int {
	p.ok = false
	if len(p.b)-p.i < n {
		return 0
	}
	v := 0
	for _, c := range p.b[p.i : p.i+n] {
		if c < '0' || c > '9' {
			return 0
		}
		v = v*10 + int(c-'0')
	}
	p.i += n
	p.ok = true
	return v
}

func (p *dateParser) lit(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// zone reads Z, ±HH:mm, ±HHmm or ±HH and returns the offset in seconds.
func (p *dateParser) zone() (int, string) {
	c := p.b[p.i]
	if c == 'Z' || c == 'z' {
		p.i++
		return 0, ""
	}
	if c != '+' && c != '-' {
		return 0, "unexpected text after the time: expected Z or an offset such as +02:00"
	}
	p.i++
	h := p.num(2)
	if !p.ok {
		return 0, "invalid zone offset: expected ±HH:mm"
	}
	m := 0
	if p.lit(':') {
		if m = p.num(2); !p.ok {
			return 0, "invalid zone offset: expected ±HH:mm"
		}
	} else if p.i < len(p.b) {
		if m = p.num(2); !p.ok {
			return 0, "invalid zone offset: expected ±HH:mm"
		}
	}
	if h > 23 || m > 59 {
		return 0, "zone offset out of range"
	}
	off := h*3600 + m*60
	if c == '-' {
		off = -off
	}
	return off, ""
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
