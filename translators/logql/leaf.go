package logql

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/fidelity"
)

// compileLeaf renders one field condition, negated when neg is set.
func (r *renderer) compileLeaf(n ast.Node, neg bool) cond {
	switch n := n.(type) {
	case ast.Term:
		return r.forFields(n, n.Field, neg, func(ref fieldRef) cond { return r.term(n, ref, neg) })
	case ast.Wildcard:
		return r.forFields(n, n.Field, neg, func(ref fieldRef) cond {
			return r.wildcard(n, ref, n.Pattern, n.CaseInsensitive, neg)
		})
	case ast.Prefix:
		p := escapeWildcard(n.Value) + "*"
		return r.forFields(n, n.Field, neg, func(ref fieldRef) cond {
			return r.wildcard(n, ref, p, n.CaseInsensitive, neg)
		})
	case ast.Regexp:
		return r.forFields(n, n.Field, neg, func(ref fieldRef) cond { return r.regexp(n, ref, neg) })
	case ast.Range:
		return r.forFields(n, n.Field, neg, func(ref fieldRef) cond { return r.rangeCond(n, ref, neg) })
	case ast.Exists:
		return r.forFields(n, n.Field, neg, func(ref fieldRef) cond { return r.exists(ref, neg) })
	case ast.Fuzzy:
		return r.drop(n, "fuzzy_unsupported",
			"fuzzy matching (%s~%s) has no LogQL equivalent", fieldOrAll(n.Field)+":"+n.Value, n.Fuzziness)
	case ast.Unsupported:
		msg := n.Reason
		if msg == "" {
			msg = "the " + n.Kind + " query has no LogQL equivalent"
		}
		return r.drop(n, "query_unsupported", "%s", msg)
	}
	return r.drop(n, "query_unsupported", "this condition has no LogQL equivalent")
}

// forFields resolves a field name, which may be empty (the default field) or
// hold wildcards, and builds the condition for each field it names.
func (r *renderer) forFields(n ast.Node, field string, neg bool, build func(fieldRef) cond) cond {
	var refs []fieldRef
	switch {
	case field == "" || field == "*":
		df := r.schema.mapping.DefaultField
		if field == "*" || df == "" || df == "*" {
			r.reasons.Addf(fidelity.Approximate, "default_field_all",
				"the query searches every field in Elasticsearch (free text with no default_field, or the field *), so the whole log line is searched instead")
			refs = []fieldRef{r.schema.wholeLineRef()}
		} else {
			refs = []fieldRef{r.schema.resolve(df)}
		}
	case strings.Contains(field, "*"):
		fields := r.schema.expandField(field)
		if len(fields) == 0 {
			return r.drop(n, "field_wildcard_unexpanded",
				"the field pattern %s matches no field known from the mapping or index pattern", field)
		}
		for _, f := range fields {
			refs = append(refs, r.schema.resolve(f))
		}
	default:
		refs = []fieldRef{r.schema.resolve(field)}
	}

	kids := make([]cond, 0, len(refs))
	for _, ref := range refs {
		kids = append(kids, r.checkedField(n, ref, build))
	}
	if len(kids) == 1 {
		return kids[0]
	}
	if neg {
		return condAnd(kids)
	}
	return condOr(kids)
}

func (r *renderer) checkedField(n ast.Node, ref fieldRef, build func(fieldRef) cond) cond {
	switch ref.loc {
	case locAbsent:
		return r.drop(n, "field_not_in_loki",
			"%s is not a label, structured metadata or the line, and the mapping's parser is none, so it does not exist in Loki", ref.field)
	case locTime:
		return r.drop(n, "time_condition_nested",
			"a condition on the timestamp field %s inside OR or NOT cannot become the query's time range", ref.field)
	}
	if ref.loc == locParsed {
		if same := r.schema.fieldsNamed(ref.name); len(same) > 1 {
			r.reasons.Addf(fidelity.Approximate, "field_name_collision",
				"the fields %s all become the label %s in Loki, so a condition on one also sees the others", strings.Join(same, ", "), ref.name)
		}
	}
	if ref.assumed {
		r.reasons.Addf(fidelity.Approximate, "field_type_assumed",
			"%s has no type in the mapping or index pattern; treated as text with a keyword subfield, Elasticsearch's dynamic default", ref.field)
	}
	return build(ref)
}

func (r *renderer) term(n ast.Term, ref fieldRef, neg bool) cond {
	if r.schema.keepVariables && wholeVariable.MatchString(strings.TrimSpace(n.Value)) {
		return r.variableTerm(n, ref, neg)
	}
	switch ref.family {
	case famKeyword:
		return r.stringCond(ref, neg, literalPattern(n.Value, true, n.CaseInsensitive), n.Value)
	case famText:
		return r.textTerm(n, ref, neg)
	case famNumber:
		num, ok := r.number(ref, n.Value)
		if !ok {
			return r.drop(n, "invalid_number",
				"%s is numeric but %q is not a number; Elasticsearch rejects this query", ref.field, n.Value)
		}
		return r.numericCond(ref, "==", num, neg)
	case famBoolean:
		v := strings.ToLower(strings.TrimSpace(n.Value))
		if v != "true" && v != "false" {
			return r.drop(n, "invalid_boolean", "%s is boolean but %q is neither true nor false", ref.field, n.Value)
		}
		return r.stringCond(ref, neg, literalPattern(v, true, false), "")
	case famIP:
		return r.ipCond(ref, n.Value, neg)
	case famDate:
		return r.drop(n, "date_field", "%s is a date field other than the timestamp; conditions on it are not translated", ref.field)
	}
	return r.drop(n, "field_type_unsupported", "%s has type %s, which LogQL cannot compare", ref.field, ref.esType)
}

// textTerm matches analysed tokens of a text field.
func (r *renderer) textTerm(n ast.Term, ref fieldRef, neg bool) cond {
	r.textReason(ref)
	if n.Mode == ast.Exact {
		// A term query compares the value with single tokens, unanalysed.
		tok := n.Value
		p := pattern{re: boundedToken(regexp.QuoteMeta(tok), firstRune(tok), lastRune(tok)), ci: n.CaseInsensitive}
		return r.stringCond(ref, neg, p, "")
	}
	toks := tokenize(n.Value)
	if len(toks) == 0 {
		// No token: Elasticsearch's match query matches nothing, or
		// everything with zero_terms_query: all.
		return condConst(neg != n.ZeroTermsAll)
	}
	switch {
	case n.Mode == ast.Phrase && len(toks) > 1:
		return r.stringCond(ref, neg, phrasePattern(toks, n.Slop), "")
	case n.Operator == ast.OpAnd && len(toks) > 1:
		kids := make([]cond, len(toks))
		for i, t := range toks {
			kids[i] = r.stringCond(ref, neg, tokenPattern(t), t)
		}
		if neg {
			return condOr(kids)
		}
		return condAnd(kids)
	case len(toks) == 1:
		return r.stringCond(ref, neg, tokenPattern(toks[0]), toks[0])
	}
	return r.stringCond(ref, neg, anyTokenPattern(toks), "")
}

func (r *renderer) textReason(ref fieldRef) {
	if ref.wholeLine {
		return
	}
	r.reasons.Addf(fidelity.Approximate, "text_analysis",
		"%s is a text field: Elasticsearch matches its analysed tokens (split at punctuation, lowercased), which the regular expression approximates", ref.field)
}

func (r *renderer) wildcard(n ast.Node, ref fieldRef, p string, ci, neg bool) cond {
	switch ref.family {
	case famKeyword:
		if lit, ok := wildcardLiteral(p); ok {
			return r.stringCond(ref, neg, literalPattern(lit, true, ci), lit)
		}
		hint, _ := wildcardLiteral(leadingLiteral(p))
		return r.stringCond(ref, neg, pattern{re: wildcardRegex(p, false), full: true, ci: ci, dotAll: true}, hint)
	case famText:
		if !ref.wholeLine {
			r.reasons.Addf(fidelity.Approximate, "wildcard_text",
				"%s is a text field: Elasticsearch applies the wildcard to each analysed token, LogQL to the raw text, so a line where the pattern sits inside a longer token or spans punctuation can be kept by one and dropped by the other", ref.field)
		}
		re := `(?:^|[^\p{L}\p{N}_])` + wildcardRegex(strings.ToLower(p), true) + `(?:[^\p{L}\p{N}_]|$)`
		return r.stringCond(ref, neg, pattern{re: re, ci: true}, "")
	}
	return r.drop(n, "wildcard_type", "%s has type %s; wildcard patterns apply only to keyword and text fields", ref.field, ref.esType)
}

func (r *renderer) regexp(n ast.Regexp, ref fieldRef, neg bool) cond {
	if ref.family != famKeyword && ref.family != famText {
		return r.drop(n, "regexp_type", "%s has type %s; regular expressions apply only to keyword and text fields", ref.field, ref.esType)
	}
	re, err := luceneRegex(n.Pattern)
	if err != nil {
		return r.drop(n, "regexp_unconvertible", "the regular expression /%s/ cannot be converted to RE2: %v", n.Pattern, err)
	}
	if ref.family == famKeyword {
		return r.stringCond(ref, neg, pattern{re: re, full: true, ci: n.CaseInsensitive, dotAll: true}, "")
	}
	if !ref.wholeLine {
		r.reasons.Addf(fidelity.Approximate, "regexp_text",
			"%s is a text field: Elasticsearch applies the regular expression to each analysed token, LogQL to the raw text", ref.field)
	}
	bounded := `(?:^|[^\p{L}\p{N}_])(?:` + re + `)(?:[^\p{L}\p{N}_]|$)`
	return r.stringCond(ref, neg, pattern{re: bounded, ci: true}, "")
}

func (r *renderer) exists(ref fieldRef, neg bool) cond {
	if !ref.wholeLine {
		r.reasons.Addf(fidelity.Approximate, "exists_empty",
			"Loki cannot tell an empty value from a missing one, so exists on %s is rendered as not empty; Elasticsearch counts an empty keyword as existing", ref.field)
	}
	name := r.labelName(ref)
	l := &leaf{parsed: ref.loc == locParsed, lineCopy: ref.loc == locLine}
	if neg {
		l.expr = name + `=""`
	} else {
		l.expr = name + `!=""`
	}
	switch ref.loc {
	case locLabel:
		if neg {
			l.matcher = &Matcher{Name: name, Op: "=", Value: ""}
		} else {
			l.matcher = &Matcher{Name: name, Op: "=~", Value: ".+"}
		}
	case locLine:
		p := pattern{re: ".", dotAll: true}
		if neg {
			l.line = "!~ " + r.quote(p.searchRegex(), true)
		} else {
			l.line = "|~ " + r.quote(p.searchRegex(), true)
			l.lineAlt = p.groupRegex()
		}
	}
	return l
}

// labelName is the name an expression uses for a field.
func (r *renderer) labelName(ref fieldRef) string {
	if ref.loc == locLine {
		return r.schema.lineCopyLabel()
	}
	return ref.name
}

// stringCond builds a string comparison in every form its location allows.
// hint is a literal that any matching value contains, used as a line-filter
// prefilter when the field is parsed from the line.
func (r *renderer) stringCond(ref fieldRef, neg bool, p pattern, hint string) cond {
	name := r.labelName(ref)
	equality := p.hasLiteral && p.full && !p.ci
	op, value := "=~", p.fullRegex()
	if equality {
		op, value = "=", p.literal
	}
	if neg {
		op = negateMatchOp(op)
	}
	l := &leaf{
		expr:     name + op + r.quote(value, !equality),
		parsed:   ref.loc == locParsed,
		lineCopy: ref.loc == locLine,
	}
	emptyMatch := (equality && p.literal == "") || (!equality && matchesEmpty(value))
	if emptyMatch && ref.loc != locLine {
		return r.emptyMatching(ref, l, neg, equality)
	}
	if equality && !neg {
		l.eqName, l.eqValue = name, p.literal
	}
	switch ref.loc {
	case locLabel:
		l.matcher = &Matcher{Name: name, Op: op, Value: value}
	case locLine:
		l.line = r.lineStage(p, neg)
		if !neg {
			l.lineAlt = p.groupRegex()
		}
	case locParsed:
		if !neg && prefilterSafe(hint) {
			if p.ci {
				l.prefilter = "|~ " + Quote("(?i)"+regexp.QuoteMeta(hint))
			} else {
				l.prefilter = "|= " + Quote(hint)
			}
		}
	}
	return l
}

// emptyMatching handles a comparison that an empty value satisfies. Loki
// reads a missing label as the empty string, so such a comparison would also
// match documents without the field, which Elasticsearch never does. A
// pattern gets an explicit test for a value. A comparison with the empty
// string itself is approximate, because Loki cannot distinguish the two.
func (r *renderer) emptyMatching(ref fieldRef, l *leaf, neg, equality bool) cond {
	name := r.labelName(ref)
	if equality {
		r.reasons.Addf(fidelity.Approximate, "empty_value",
			"%s is compared with the empty string; Loki cannot tell an empty value from a missing field, so documents without %s are matched the same way", ref.field, ref.field)
		return l
	}
	r.reasons.Addf(fidelity.Approximate, "empty_value",
		"the pattern on %s also matches an empty value; Loki cannot tell an empty value from a missing field, so the field is tested for a value too", ref.field)
	if neg {
		l.expr = "(" + l.expr + " or " + name + `="")`
	} else {
		l.expr = "(" + l.expr + " and " + name + `!="")`
	}
	return l
}

// negateMatchOp turns = into != and =~ into !~.
func negateMatchOp(op string) string {
	if op == "=" {
		return "!="
	}
	return "!~"
}

func (r *renderer) lineStage(p pattern, neg bool) string {
	if p.hasLiteral && !p.full && !p.ci {
		if neg {
			return "!= " + r.quote(p.literal, false)
		}
		return "|= " + r.quote(p.literal, false)
	}
	if neg {
		return "!~ " + r.quote(p.searchRegex(), true)
	}
	return "|~ " + r.quote(p.searchRegex(), true)
}

// prefilterSafe reports whether a literal appears unchanged in a JSON or
// logfmt line that holds it: no character JSON or logfmt would escape, and
// long enough to be worth a pass.
func prefilterSafe(s string) bool {
	if len(s) < 3 {
		return false
	}
	for _, c := range []byte(s) {
		if !(isASCIIWord(rune(c)) || c == '.' || c == ':' || c == '@' || c == '-' || c == ' ') {
			return false
		}
	}
	return true
}

// numberSyntax is a decimal number as Elasticsearch and LogQL both read
// it; NaN, Inf, hex and digit separators are not numbers to either.
var numberSyntax = regexp.MustCompile(`^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$`)

// maxExactFloat is 2^53: integers above it lose precision as float64, which
// is how Loki compares numbers.
const maxExactFloat = 1 << 53

// number parses a numeric value and returns it as LogQL text: integers and
// plain decimals as written, anything else in Go's shortest form.
func (r *renderer) number(ref fieldRef, text string) (string, bool) {
	text = strings.TrimSpace(text)
	if !numberSyntax.MatchString(text) {
		return "", false
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return "", false
	}
	if v >= maxExactFloat || v <= -maxExactFloat {
		r.reasons.Addf(fidelity.Approximate, "number_precision",
			"%s is compared with %s, which a 64-bit float, as Loki compares numbers, cannot hold exactly", ref.field, text)
	}
	if strings.ContainsAny(text, "eE") {
		return formatNumber(v), true
	}
	return strings.TrimPrefix(text, "+"), true
}

// numericCond compares a field with a number. Negation keeps documents
// without the field, as Elasticsearch does: Loki's numeric filter is false
// for a missing label, so the empty test is added.
func (r *renderer) numericCond(ref fieldRef, op string, v string, neg bool) cond {
	name := r.labelName(ref)
	expr := name + " " + op + " " + v
	if neg {
		expr = "(" + name + " " + negateOp(op) + " " + v + " or " + name + `="")`
	}
	return &leaf{expr: expr, numeric: true, parsed: ref.loc == locParsed, lineCopy: ref.loc == locLine}
}

func negateOp(op string) string {
	switch op {
	case "==":
		return "!="
	case ">":
		return "<="
	case ">=":
		return "<"
	case "<":
		return ">="
	case "<=":
		return ">"
	}
	return "=="
}

// validIPPattern reports whether ip() accepts a value: an address, a CIDR
// block, or a range of two addresses.
func validIPPattern(v string) bool {
	if _, err := netip.ParseAddr(v); err == nil {
		return true
	}
	if _, err := netip.ParsePrefix(v); err == nil {
		return true
	}
	from, to, ok := strings.Cut(v, "-")
	if !ok {
		return false
	}
	a, errA := netip.ParseAddr(from)
	b, errB := netip.ParseAddr(to)
	return errA == nil && errB == nil && a.Is4() == b.Is4()
}

func (r *renderer) ipCond(ref fieldRef, value string, neg bool) cond {
	name := r.labelName(ref)
	value = strings.TrimSpace(value)
	if !validIPPattern(value) {
		return r.drop(ast.Term{Field: ref.field, Value: value}, "invalid_ip",
			"%s is an ip field but %q is not an address, a CIDR block or a range; Elasticsearch rejects this query", ref.field, value)
	}
	arg := "ip(" + strconv.Quote(value) + ")"
	expr := name + "=" + arg
	if neg {
		expr = "(" + name + "!=" + arg + " or " + name + `="")`
	}
	return &leaf{expr: expr, parsed: ref.loc == locParsed, lineCopy: ref.loc == locLine}
}

func (r *renderer) rangeCond(n ast.Range, ref fieldRef, neg bool) cond {
	switch ref.family {
	case famNumber:
		return r.numericRange(n, ref, neg)
	case famIP:
		if n.HasFrom && n.HasTo && n.IncludeFrom && n.IncludeTo {
			return r.ipCond(ref, n.From+"-"+n.To, neg)
		}
		return r.drop(n, "ip_range", "only closed ranges [a TO b] on ip fields are translated, as ip(\"a-b\")")
	case famDate:
		return r.drop(n, "date_field", "%s is a date field other than the timestamp; conditions on it are not translated", ref.field)
	case famKeyword, famText:
		return r.drop(n, "string_range",
			"%s is a string field: LogQL label filters have no lexicographic ordering, so the range cannot be translated", ref.field)
	}
	return r.drop(n, "field_type_unsupported", "%s has type %s, which LogQL cannot compare", ref.field, ref.esType)
}

func (r *renderer) numericRange(n ast.Range, ref fieldRef, neg bool) cond {
	type bound struct {
		op string
		v  string
	}
	var bounds []bound
	add := func(has bool, text, inclOp, exclOp string, incl bool) bool {
		if !has {
			return true
		}
		v, ok := r.number(ref, text)
		if !ok {
			return false
		}
		op := exclOp
		if incl {
			op = inclOp
		}
		bounds = append(bounds, bound{op, v})
		return true
	}
	if !add(n.HasFrom, n.From, ">=", ">", n.IncludeFrom) || !add(n.HasTo, n.To, "<=", "<", n.IncludeTo) {
		return r.drop(n, "invalid_number", "%s is numeric but a bound of the range is not a number", ref.field)
	}
	if len(bounds) == 0 {
		return r.exists(ref, neg)
	}
	name := r.labelName(ref)
	parts := make([]string, 0, len(bounds)+1)
	for _, b := range bounds {
		op := b.op
		if neg {
			op = negateOp(op)
		}
		parts = append(parts, name+" "+op+" "+b.v)
	}
	var expr string
	switch {
	case neg:
		expr = "(" + strings.Join(append(parts, name+`=""`), " or ") + ")"
	case len(parts) == 1:
		expr = parts[0]
	default:
		expr = "(" + strings.Join(parts, " and ") + ")"
	}
	return &leaf{expr: expr, numeric: true, parsed: ref.loc == locParsed, lineCopy: ref.loc == locLine}
}

func escapeWildcard(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`).Replace(s)
}

// leadingLiteral returns the part of a wildcard pattern before its first
// wildcard.
func leadingLiteral(p string) string {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '*', '?':
			return p[:i]
		}
	}
	return p
}

func fieldOrAll(f string) string {
	if f == "" {
		return "*"
	}
	return f
}

// wholeVariable matches a value that is one Grafana template variable:
// $name, ${name}, ${name:format} or [[name]].
var wholeVariable = regexp.MustCompile(`^(?:\$\w+|\$\{\w+(?::\w+)?\}|\[\[\w+\]\])$`)

// variableTerm compares a field with a Grafana template variable. Grafana
// replaces the variable before the query runs, writing several selected
// values as a regex alternation for Loki, so the comparison is a whole-value
// regex match.
func (r *renderer) variableTerm(n ast.Term, ref fieldRef, neg bool) cond {
	v := strings.TrimSpace(n.Value)
	if ref.family != famKeyword {
		r.reasons.Addf(fidelity.Approximate, "variable_whole_value",
			"%s is compared with the variable %s as a whole value; Elasticsearch compared it as a %s field", ref.field, v, familyName(ref.family))
	}
	name := r.labelName(ref)
	op := "=~"
	if neg {
		op = "!~"
	}
	l := &leaf{
		expr:     name + op + Quote(v),
		parsed:   ref.loc == locParsed,
		lineCopy: ref.loc == locLine,
	}
	switch ref.loc {
	case locLabel:
		l.matcher = &Matcher{Name: name, Op: op, Value: v}
	case locLine:
		if neg {
			l.line = "!~ " + Quote(v)
		} else {
			l.line = "|~ " + Quote(v)
			l.lineAlt = "(?:" + v + ")"
		}
	}
	return l
}

func familyName(f typeFamily) string {
	switch f {
	case famText:
		return "text"
	case famNumber:
		return "numeric"
	case famDate:
		return "date"
	case famBoolean:
		return "boolean"
	case famIP:
		return "ip"
	}
	return "keyword"
}
