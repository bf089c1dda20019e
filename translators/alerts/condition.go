package alerts

import (
	"fmt"
	"strconv"
)

// Comparison operators of a condition. The first six are LogQL's; between
// and notBetween are Kibana's, with both bounds inclusive as Kibana's
// comparator functions define them (value >= a && value <= b, and
// value < a || value > b).
const (
	opGT         = ">"
	opGTE        = ">="
	opLT         = "<"
	opLTE        = "<="
	opEQ         = "=="
	opNE         = "!="
	opBetween    = "between"
	opNotBetween = "notBetween"
)

// condition is when a rule fires: its value compared with one threshold, or
// with two for between and notBetween.
type condition struct {
	op     string
	values []float64
}

// kibanaComparators maps the thresholdComparator of Elasticsearch query and
// index threshold rules to an operator. Kibana 7.x index threshold rules
// also accept the word forms.
var kibanaComparators = map[string]string{
	">": opGT, ">=": opGTE, "<": opLT, "<=": opLTE,
	"gt": opGT, "gte": opGTE, "lt": opLT, "lte": opLTE,
	"between": opBetween, "notBetween": opNotBetween,
}

// newCondition checks the number of thresholds an operator needs.
func newCondition(op string, values []float64, path string) (condition, error) {
	want := 1
	if op == opBetween || op == opNotBetween {
		want = 2
	}
	if len(values) != want {
		return condition{}, fmt.Errorf("%w %s: the comparator %s needs %d threshold value(s), found %d",
			ErrInvalidParam, path, op, want, len(values))
	}
	return condition{op: op, values: values}, nil
}

// holdsAt reports whether the condition fires for the value v.
func (c condition) holdsAt(v float64) bool {
	a := c.values[0]
	switch c.op {
	case opGT:
		return v > a
	case opGTE:
		return v >= a
	case opLT:
		return v < a
	case opLTE:
		return v <= a
	case opEQ:
		return v == a
	case opNE:
		return v != a
	case opBetween:
		return v >= a && v <= c.values[1]
	case opNotBetween:
		return v < a || v > c.values[1]
	}
	return false
}

// render compares the metric expression x with the thresholds. Comparison
// operators without bool filter the series, so each series that stays
// breaches. Between needs both bounds to hold, so it is an and of two
// filters, and notBetween is an or.
func (c condition) render(x string) string {
	a := formatNumber(c.values[0])
	switch c.op {
	case opBetween:
		return fmt.Sprintf("(%s >= %s) and (%s <= %s)", x, a, x, formatNumber(c.values[1]))
	case opNotBetween:
		return fmt.Sprintf("(%s < %s) or (%s > %s)", x, a, x, formatNumber(c.values[1]))
	}
	return x + " " + c.op + " " + a
}

// String describes the condition for people, as "> 10" or
// "between 5 and 10".
func (c condition) String() string {
	switch c.op {
	case opBetween:
		return fmt.Sprintf("between %s and %s", formatNumber(c.values[0]), formatNumber(c.values[1]))
	case opNotBetween:
		return fmt.Sprintf("not between %s and %s", formatNumber(c.values[0]), formatNumber(c.values[1]))
	}
	return c.op + " " + formatNumber(c.values[0])
}

// formatNumber writes a threshold as LogQL reads it: no exponent, no
// trailing zeros.
func formatNumber(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// thresholdValues reads a list of numbers, or one number.
func thresholdValues(v any, path string) ([]float64, error) {
	list, isList := v.([]any)
	if !isList {
		if v == nil {
			return nil, missing(path, "give the threshold as a number, or two for between and notBetween")
		}
		list = []any{v}
	}
	out := make([]float64, 0, len(list))
	for i, item := range list {
		f, ok := number(item)
		if !ok {
			return nil, invalid(fmt.Sprintf("%s[%d]", path, i), item, "a threshold must be a finite number, such as 10")
		}
		out = append(out, f)
	}
	return out, nil
}

// zeroFilled makes a metric without labels read 0 when no line matched.
// count_over_time and sum_over_time return no series at all for a window
// without lines, where Elasticsearch counts 0, so a condition that holds at
// 0 (< 10) would never fire. LogQL has vector() from Loki 2.7 on.
func zeroFilled(x string) string {
	return "(" + x + " or vector(0))"
}

// wrapTopN keeps the n groups that rank first, as a terms aggregation of
// size n does.
func wrapTopN(x string, n int, bottom bool) string {
	fn := "topk"
	if bottom {
		fn = "bottomk"
	}
	return fmt.Sprintf("%s(%d, %s)", fn, n, x)
}
