package ast

import (
	"strconv"
	"strings"
)

// Format prints a tree as a compact S-expression. Parser tests compare trees
// through it, and reports use it to name a dropped condition. The form is:
//
//	(and A B)  (or A B)  (not A)  (all)  (none)
//	(match F "v")  (match F "v" and)  (phrase F "v")  (phrase F "v" ~2)
//	(term F "v")  (term F "v" ci)  (wildcard F "p*")  (prefix F "p")
//	(regexp F "r")  (range F [a TO b})  (exists F)  (fuzzy F "v" ~2)
//	(nested P A)  (unsupported kind "text")
//
// The default field prints as `*`.
func Format(n Node) string {
	var b strings.Builder
	format(&b, n)
	return b.String()
}

func format(b *strings.Builder, n Node) {
	switch n := n.(type) {
	case And:
		formatList(b, "and", n.Children)
	case Or:
		formatList(b, "or", n.Children)
	case Not:
		b.WriteString("(not ")
		format(b, n.Child)
		b.WriteByte(')')
	case MatchAll:
		b.WriteString("(all)")
	case MatchNone:
		b.WriteString("(none)")
	case Term:
		formatTerm(b, n)
	case Wildcard:
		formatLeaf(b, "wildcard", n.Field, n.Pattern, n.CaseInsensitive)
	case Prefix:
		formatLeaf(b, "prefix", n.Field, n.Value, n.CaseInsensitive)
	case Regexp:
		formatLeaf(b, "regexp", n.Field, n.Pattern, n.CaseInsensitive)
	case Range:
		formatRange(b, n)
	case Exists:
		b.WriteString("(exists " + fieldName(n.Field) + ")")
	case Fuzzy:
		b.WriteString("(fuzzy " + fieldName(n.Field) + " " + strconv.Quote(n.Value))
		if n.Fuzziness != "" {
			b.WriteString(" ~" + n.Fuzziness)
		}
		b.WriteByte(')')
	case Nested:
		b.WriteString("(nested " + n.Path + " ")
		format(b, n.Query)
		b.WriteByte(')')
	case Unsupported:
		b.WriteString("(unsupported " + n.Kind + " " + strconv.Quote(n.Text) + ")")
	case nil:
		b.WriteString("(nil)")
	default:
		b.WriteString("(?)")
	}
}

func formatList(b *strings.Builder, op string, children []Node) {
	b.WriteString("(" + op)
	for _, c := range children {
		b.WriteByte(' ')
		format(b, c)
	}
	b.WriteByte(')')
}

func formatTerm(b *strings.Builder, t Term) {
	b.WriteString("(" + t.Mode.String() + " " + fieldName(t.Field) + " " + strconv.Quote(t.Value))
	if t.Mode == Analyzed && t.Operator == OpAnd {
		b.WriteString(" and")
	}
	if t.Mode == Phrase && t.Slop > 0 {
		b.WriteString(" ~" + strconv.Itoa(t.Slop))
	}
	if t.CaseInsensitive {
		b.WriteString(" ci")
	}
	b.WriteByte(')')
}

func formatLeaf(b *strings.Builder, kind, field, value string, ci bool) {
	b.WriteString("(" + kind + " " + fieldName(field) + " " + strconv.Quote(value))
	if ci {
		b.WriteString(" ci")
	}
	b.WriteByte(')')
}

func formatRange(b *strings.Builder, r Range) {
	b.WriteString("(range " + fieldName(r.Field) + " ")
	if r.IncludeFrom {
		b.WriteByte('[')
	} else {
		b.WriteByte('{')
	}
	if r.HasFrom {
		b.WriteString(r.From)
	} else {
		b.WriteByte('*')
	}
	b.WriteString(" TO ")
	if r.HasTo {
		b.WriteString(r.To)
	} else {
		b.WriteByte('*')
	}
	if r.IncludeTo {
		b.WriteByte(']')
	} else {
		b.WriteByte('}')
	}
	if r.Format != "" {
		b.WriteString(" format=" + strconv.Quote(r.Format))
	}
	if r.TimeZone != "" {
		b.WriteString(" tz=" + strconv.Quote(r.TimeZone))
	}
	b.WriteByte(')')
}

func fieldName(f string) string {
	if f == "" {
		return "*"
	}
	return f
}
