package esdsl

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/fidelity"
	"github.com/obs-migrate/migrate/translators/lucene"
)

// parseCase is a query, the tree it must parse into, and the note codes the
// parse must add.
type parseCase struct {
	name  string
	in    string
	want  string
	notes []string
}

var leafCases = []parseCase{
	{name: "match short", in: `{"match":{"message":"disk full"}}`, want: `(match message "disk full")`},
	{name: "match number", in: `{"match":{"status":200}}`, want: `(match status "200")`},
	{name: "match boolean", in: `{"match":{"ok":true}}`, want: `(match ok "true")`},
	{name: "match escapes", in: `{"match":{"msg":"a\"b\u00e9\ud83d\ude00\/"}}`, want: `(match msg "a\"bé😀/")`},
	{name: "match long and", in: `{"match":{"message":{"query":"disk full","operator":"AND"}}}`, want: `(match message "disk full" and)`},
	{name: "match long or", in: `{"match":{"message":{"query":"disk full","operator":"or","lenient":true}}}`, want: `(match message "disk full")`},
	{name: "match kibana phrase", in: `{"match":{"response":{"query":200,"type":"phrase"}}}`, want: `(phrase response "200")`},
	{name: "match phrase slop", in: `{"match":{"m":{"query":"a b","type":"phrase","slop":"2"}}}`, want: `(phrase m "a b" ~2)`},
	{name: "match boolean type", in: `{"match":{"m":{"query":"a","type":"boolean"}}}`, want: `(match m "a")`},
	{name: "match fuzziness", in: `{"match":{"user":{"query":"jon","fuzziness":"AUTO"}}}`, want: `(fuzzy user "jon" ~AUTO)`},
	{name: "match fuzziness number", in: `{"match":{"user":{"query":"jon","fuzziness":1}}}`, want: `(fuzzy user "jon" ~1)`},
	{name: "match fuzziness zero", in: `{"match":{"user":{"query":"jon","fuzziness":0}}}`, want: `(match user "jon")`},
	{
		name: "match phrase_prefix type",
		in:   `{"match":{"m":{"query":"qu","type":"phrase_prefix"}}}`,
		want: `(unsupported match_phrase_prefix "{\"match\":{\"m\":{\"query\":\"qu\",\"type\":\"phrase_prefix\"}}}")`,
	},
	{name: "match boost", in: `{"match":{"m":{"query":"a","boost":2,"_name":"x"}}}`, want: `(match m "a")`, notes: []string{"boost_ignored"}},
	{name: "match analyzer", in: `{"match":{"m":{"query":"a","analyzer":"whitespace"}}}`, want: `(match m "a")`, notes: []string{"analyzer_ignored"}},
	{name: "match msm", in: `{"match":{"m":{"query":"a b c","minimum_should_match":2}}}`, want: `(match m "a b c")`, notes: []string{"option_ignored"}},
	{name: "match unknown option", in: `{"match":{"m":{"query":"a","frobnicate":1}}}`, want: `(match m "a")`, notes: []string{"unknown_option"}},

	{name: "match_phrase short", in: `{"match_phrase":{"message":"disk full"}}`, want: `(phrase message "disk full")`},
	{name: "match_phrase long", in: `{"match_phrase":{"message":{"query":"disk full","slop":3}}}`, want: `(phrase message "disk full" ~3)`},
	{name: "match_phrase number", in: `{"match_phrase":{"code":{"query":404}}}`, want: `(phrase code "404")`},
	{
		name: "match_phrase_prefix",
		in:   `{"match_phrase_prefix":{"f":"ab"}}`,
		want: `(unsupported match_phrase_prefix "{\"match_phrase_prefix\":{\"f\":\"ab\"}}")`,
	},

	{
		name:  "multi_match boosts",
		in:    `{"multi_match":{"query":"x","fields":["title^2","body"]}}`,
		want:  `(or (match title "x") (match body "x"))`,
		notes: []string{"boost_ignored"},
	},
	{name: "multi_match no fields", in: `{"multi_match":{"query":"x"}}`, want: `(match * "x")`},
	{name: "multi_match empty fields", in: `{"multi_match":{"query":"x","fields":[]}}`, want: `(match * "x")`},
	{name: "multi_match one field string", in: `{"multi_match":{"query":"x","fields":"a"}}`, want: `(match a "x")`},
	{
		name: "multi_match operator",
		in:   `{"multi_match":{"query":"x y","fields":["a","b.*"],"operator":"and","type":"most_fields"}}`,
		want: `(or (match a "x y" and) (match b.* "x y" and))`,
	},
	{
		name:  "multi_match cross_fields and",
		in:    `{"multi_match":{"query":"x y","fields":["a","b"],"operator":"and","type":"cross_fields"}}`,
		want:  `(or (match a "x y" and) (match b "x y" and))`,
		notes: []string{"cross_fields"},
	},
	{
		name: "multi_match phrase",
		in:   `{"multi_match":{"query":"x y","fields":["a","b"],"type":"phrase","slop":1}}`,
		want: `(or (phrase a "x y" ~1) (phrase b "x y" ~1))`,
	},
	{
		name: "multi_match fuzziness",
		in:   `{"multi_match":{"query":"x","fields":["a","b"],"fuzziness":2}}`,
		want: `(or (fuzzy a "x" ~2) (fuzzy b "x" ~2))`,
	},
	{
		name: "multi_match phrase_prefix",
		in:   `{"multi_match":{"query":"x","type":"phrase_prefix"}}`,
		want: `(unsupported match_phrase_prefix "{\"multi_match\":{\"query\":\"x\",\"type\":\"phrase_prefix\"}}")`,
	},
	{
		name: "multi_match bool_prefix",
		in:   `{"multi_match":{"query":"x","type":"bool_prefix"}}`,
		want: `(unsupported match_bool_prefix "{\"multi_match\":{\"query\":\"x\",\"type\":\"bool_prefix\"}}")`,
	},

	{name: "term short", in: `{"term":{"user.id":"kimchy"}}`, want: `(term user.id "kimchy")`},
	{name: "term number", in: `{"term":{"port":443}}`, want: `(term port "443")`},
	{name: "term float", in: `{"term":{"ratio":-1.5e3}}`, want: `(term ratio "-1.5e3")`},
	{name: "term boolean", in: `{"term":{"ok":false}}`, want: `(term ok "false")`},
	{
		name:  "term long",
		in:    `{"term":{"user.id":{"value":"Kimchy","case_insensitive":true,"boost":1.0}}}`,
		want:  `(term user.id "Kimchy" ci)`,
		notes: []string{"boost_ignored"},
	},
	{name: "term long string bool", in: `{"term":{"u":{"value":"K","case_insensitive":"false"}}}`, want: `(term u "K")`},
	{name: "term unknown option", in: `{"term":{"u":{"value":"K","fuzziness":1}}}`, want: `(term u "K")`, notes: []string{"unknown_option"}},

	{name: "terms", in: `{"terms":{"host":["a","b",3]}}`, want: `(or (term host "a") (term host "b") (term host "3"))`},
	{name: "terms one", in: `{"terms":{"host":["a"]}}`, want: `(term host "a")`},
	{name: "terms empty", in: `{"terms":{"host":[]}}`, want: `(none)`},
	{name: "terms boost", in: `{"terms":{"host":["a","b"],"boost":2,"_name":"n"}}`, want: `(or (term host "a") (term host "b"))`, notes: []string{"boost_ignored"}},
	{
		name: "terms lookup",
		in:   `{"terms":{"user":{"index":"users","id":"2","path":"followers"}}}`,
		want: `(unsupported terms_lookup "{\"terms\":{\"user\":{\"index\":\"users\",\"id\":\"2\",\"path\":\"followers\"}}}")`,
	},
	{name: "ids", in: `{"ids":{"values":["1","2"]}}`, want: `(or (term _id "1") (term _id "2"))`},
	{name: "ids old type", in: `{"ids":{"type":"doc","values":["1"]}}`, want: `(term _id "1")`},

	{name: "range gte lt", in: `{"range":{"bytes":{"gte":1,"lt":10}}}`, want: `(range bytes [1 TO 10})`},
	{name: "range gt lte", in: `{"range":{"bytes":{"gt":"1","lte":"10"}}}`, want: `(range bytes {1 TO 10])`},
	{name: "range gt only", in: `{"range":{"bytes":{"gt":5}}}`, want: `(range bytes {5 TO *])`},
	{name: "range lt only", in: `{"range":{"bytes":{"lt":5}}}`, want: `(range bytes [* TO 5})`},
	{name: "range null bound", in: `{"range":{"bytes":{"gte":null,"lt":5}}}`, want: `(range bytes [* TO 5})`},
	{name: "range no bounds", in: `{"range":{"bytes":{}}}`, want: `(range bytes [* TO *])`},
	{
		name: "range from to exclusive",
		in:   `{"range":{"bytes":{"from":1,"to":5,"include_lower":false,"include_upper":true}}}`,
		want: `(range bytes {1 TO 5])`,
	},
	{name: "range later bound wins", in: `{"range":{"n":{"gt":1,"gte":2}}}`, want: `(range n [2 TO *])`},
	{
		name: "range date math",
		in:   `{"range":{"@timestamp":{"gte":"now-15m/m","lte":"now","format":"strict_date_optional_time","time_zone":"+01:00"}}}`,
		want: `(range @timestamp [now-15m/m TO now] format="strict_date_optional_time" tz="+01:00")`,
	},
	{name: "range boost outside", in: `{"range":{"n":{"gte":1},"boost":2}}`, want: `(range n [1 TO *])`, notes: []string{"boost_ignored"}},
	{name: "range relation", in: `{"range":{"n":{"gte":1,"relation":"WITHIN"}}}`, want: `(range n [1 TO *])`, notes: []string{"range_relation"}},
	{name: "range relation default", in: `{"range":{"n":{"gte":1,"relation":"intersects"}}}`, want: `(range n [1 TO *])`},

	{name: "exists", in: `{"exists":{"field":"host.name"}}`, want: `(exists host.name)`},
	{name: "missing", in: `{"missing":{"field":"host.name"}}`, want: `(not (exists host.name))`},

	{name: "wildcard short", in: `{"wildcard":{"user":"ki*y"}}`, want: `(wildcard user "ki*y")`},
	{name: "wildcard value", in: `{"wildcard":{"user":{"value":"k?\\*","case_insensitive":true}}}`, want: `(wildcard user "k?\\*" ci)`},
	{name: "wildcard key", in: `{"wildcard":{"user":{"wildcard":"ki*","rewrite":"constant_score"}}}`, want: `(wildcard user "ki*")`},
	{name: "prefix short", in: `{"prefix":{"user":"ki"}}`, want: `(prefix user "ki")`},
	{name: "prefix long", in: `{"prefix":{"user":{"value":"Ki","case_insensitive":true}}}`, want: `(prefix user "Ki" ci)`},
	{name: "regexp short", in: `{"regexp":{"user":"k.*y"}}`, want: `(regexp user "k.*y")`},
	{name: "regexp all flags", in: `{"regexp":{"user":{"value":"k.*y","flags":"ALL","max_determinized_states":100}}}`, want: `(regexp user "k.*y")`},
	{
		name:  "regexp limited flags",
		in:    `{"regexp":{"user":{"value":"k.*y","flags":"INTERSECTION|COMPLEMENT","case_insensitive":true}}}`,
		want:  `(regexp user "k.*y" ci)`,
		notes: []string{"regexp_flags"},
	},
	{name: "fuzzy short", in: `{"fuzzy":{"user":"ki"}}`, want: `(fuzzy user "ki" ~AUTO)`},
	{name: "fuzzy long", in: `{"fuzzy":{"user":{"value":"ki","fuzziness":2,"prefix_length":1}}}`, want: `(fuzzy user "ki" ~2)`},

	{name: "match_all", in: `{"match_all":{}}`, want: `(all)`},
	{name: "match_all boost", in: `{"match_all":{"boost":1.2}}`, want: `(all)`, notes: []string{"boost_ignored"}},
	{name: "match_none", in: `{"match_none":{}}`, want: `(none)`},
}

var compoundCases = []parseCase{
	{name: "constant_score", in: `{"constant_score":{"filter":{"term":{"a":"b"}},"boost":1.2}}`, want: `(term a "b")`, notes: []string{"boost_ignored"}},
	{
		name:  "boosting",
		in:    `{"boosting":{"positive":{"term":{"a":"b"}},"negative":{"term":{"c":"d"}},"negative_boost":0.5}}`,
		want:  `(term a "b")`,
		notes: []string{"scoring_ignored"},
	},
	{name: "dis_max", in: `{"dis_max":{"queries":[{"term":{"a":"1"}},{"term":{"b":"2"}}],"tie_breaker":0.7}}`, want: `(or (term a "1") (term b "2"))`},
	{name: "dis_max object", in: `{"dis_max":{"queries":{"term":{"a":"1"}}}}`, want: `(term a "1")`},
	{
		name:  "function_score",
		in:    `{"function_score":{"query":{"match":{"m":"x"}},"functions":[{"weight":2}],"boost_mode":"multiply"}}`,
		want:  `(match m "x")`,
		notes: []string{"scoring_ignored"},
	},
	{name: "function_score without query", in: `{"function_score":{"random_score":{}}}`, want: `(all)`, notes: []string{"scoring_ignored"}},
	{
		name:  "function_score min_score",
		in:    `{"function_score":{"query":{"match_all":{}},"min_score":2}}`,
		want:  `(all)`,
		notes: []string{"scoring_ignored", "min_score_ignored"},
	},
	{
		name:  "script_score",
		in:    `{"script_score":{"query":{"exists":{"field":"a"}},"script":{"source":"1"}}}`,
		want:  `(exists a)`,
		notes: []string{"scoring_ignored"},
	},
	{
		name: "nested",
		in:   `{"nested":{"path":"items","query":{"bool":{"must":[{"term":{"items.name":"a"}},{"range":{"items.qty":{"gt":1}}}]}},"score_mode":"avg"}}`,
		want: `(nested items (and (term items.name "a") (range items.qty {1 TO *])))`,
	},
	{
		name: "script",
		in:   `{"script":{"script":{"source":"doc['a'].value > 1"}}}`,
		want: `(unsupported script "{\"script\":{\"script\":{\"source\":\"doc['a'].value > 1\"}}}")`,
	},
	{
		name: "geo_distance",
		in:   `{"geo_distance":{"distance":"12km","pin.location":{"lat":40,"lon":-70}}}`,
		want: `(unsupported geo_distance "{\"geo_distance\":{\"distance\":\"12km\",\"pin.location\":{\"lat\":40,\"lon\":-70}}}")`,
	},
	{name: "knn", in: `{"knn":{"field":"v","query_vector":[1,2]}}`, want: `(unsupported knn "{\"knn\":{\"field\":\"v\",\"query_vector\":[1,2]}}")`},
	{name: "span_term", in: `{"span_term":{"a":"b"}}`, want: `(unsupported span_term "{\"span_term\":{\"a\":\"b\"}}")`},
	{name: "unknown name", in: `{"frobnicate": [1, 2]}`, want: `(unsupported frobnicate "{\"frobnicate\":[1, 2]}")`},
	{name: "unknown geo", in: `{"geo_hexagon":{}}`, want: `(unsupported geo_hexagon "{\"geo_hexagon\":{}}")`},
	{name: "wrapper search body", in: `{"query":{"term":{"a":"b"}}}`, want: `(term a "b")`},
	{
		name: "search body keys",
		in:   `{"size":0,"sort":[{"@timestamp":"desc"}],"query":{"term":{"a":"b"}},"aggs":{"x":{"terms":{"field":"f"}}}}`,
		want: `(term a "b")`,
	},
	{name: "search body post_filter", in: `{"query":{"term":{"a":"b"}},"post_filter":{"exists":{"field":"c"}}}`, want: `(and (term a "b") (exists c))`},
	{name: "search body unknown key", in: `{"query":{"match_all":{}},"filter":[]}`, want: `(all)`, notes: []string{"unknown_option"}},
	{name: "search body min_score", in: `{"query":{"match_all":{}},"min_score":0.5}`, want: `(all)`, notes: []string{"min_score_ignored"}},
	{name: "whitespace", in: " \n{ \"term\" :\t{ \"a\" : \"b\" } }\r\n", want: `(term a "b")`},
}

// Three should clauses A, B and C, used by the minimum_should_match cases.
const (
	shouldABC   = `"should":[{"term":{"f":"A"}},{"term":{"f":"B"}},{"term":{"f":"C"}}]`
	formatA     = `(term f "A")`
	formatB     = `(term f "B")`
	formatC     = `(term f "C")`
	formatABC   = `(or ` + formatA + ` ` + formatB + ` ` + formatC + `)`
	format2of3  = `(or (and ` + formatA + ` ` + formatB + `) (and ` + formatA + ` ` + formatC + `) (and ` + formatB + ` ` + formatC + `))`
	formatAllOf = `(and ` + formatA + ` ` + formatB + ` ` + formatC + `)`
)

var boolCases = []parseCase{
	{name: "empty bool", in: `{"bool":{}}`, want: `(all)`},
	{
		name:  "every clause kind",
		in:    `{"bool":{"must":[{"match":{"a":"1"}}],"filter":{"term":{"b":"2"}},"must_not":[{"exists":{"field":"c"}}],"should":[{"term":{"d":"4"}}],"boost":1,"_name":"q"}}`,
		want:  `(and (match a "1") (term b "2") (not (exists c)))`,
		notes: []string{"boost_ignored", "optional_clause_ignored"},
	},
	{name: "must one", in: `{"bool":{"must":{"term":{"a":"1"}}}}`, want: `(term a "1")`},
	{name: "must empty array", in: `{"bool":{"must":[]}}`, want: `(all)`},
	{name: "filter array", in: `{"bool":{"filter":[{"term":{"a":"1"}},{"term":{"b":"2"}}]}}`, want: `(and (term a "1") (term b "2"))`},
	{name: "must_not only", in: `{"bool":{"must_not":{"term":{"a":"1"}}}}`, want: `(not (term a "1"))`},
	{
		name: "must_not two",
		in:   `{"bool":{"must_not":[{"term":{"a":"1"}},{"term":{"b":"2"}}]}}`,
		want: `(and (not (term a "1")) (not (term b "2")))`,
	},
	{name: "should only", in: `{"bool":{` + shouldABC + `}}`, want: formatABC},
	{name: "should one", in: `{"bool":{"should":{"term":{"f":"A"}}}}`, want: formatA},
	{
		name: "should with must_not",
		in:   `{"bool":{"must_not":{"term":{"x":"1"}},` + shouldABC + `}}`,
		want: `(and (not (term x "1")) ` + formatABC + `)`,
	},
	{name: "msm 1", in: `{"bool":{` + shouldABC + `,"minimum_should_match":1}}`, want: formatABC},
	{name: "msm 2", in: `{"bool":{` + shouldABC + `,"minimum_should_match":2}}`, want: format2of3},
	{name: "msm string 2", in: `{"bool":{` + shouldABC + `,"minimum_should_match":"2"}}`, want: format2of3},
	{name: "msm 50 percent", in: `{"bool":{` + shouldABC + `,"minimum_should_match":"50%"}}`, want: formatABC},
	{name: "msm 70 percent", in: `{"bool":{` + shouldABC + `,"minimum_should_match":"70%"}}`, want: format2of3},
	{name: "msm minus 1", in: `{"bool":{` + shouldABC + `,"minimum_should_match":-1}}`, want: format2of3},
	{name: "msm minus 34 percent", in: `{"bool":{` + shouldABC + `,"minimum_should_match":"-34%"}}`, want: format2of3},
	{name: "msm 3", in: `{"bool":{` + shouldABC + `,"minimum_should_match":3}}`, want: formatAllOf},
	{name: "msm 100 percent", in: `{"bool":{` + shouldABC + `,"minimum_should_match":"100%"}}`, want: formatAllOf},
	{name: "msm more than clauses", in: `{"bool":{` + shouldABC + `,"minimum_should_match":4}}`, want: `(none)`},
	{name: "msm 0 alone", in: `{"bool":{` + shouldABC + `,"minimum_should_match":0}}`, want: formatABC},
	{name: "msm minus 5 alone", in: `{"bool":{` + shouldABC + `,"minimum_should_match":-5}}`, want: formatABC},
	{name: "msm conditional small", in: `{"bool":{` + shouldABC + `,"minimum_should_match":"3<1"}}`, want: formatAllOf},
	{name: "msm conditional large", in: `{"bool":{` + shouldABC + `,"minimum_should_match":"2 < 1"}}`, want: formatABC},
	{name: "msm conditional chain", in: `{"bool":{` + shouldABC + `,"minimum_should_match":"1<-1 2<1"}}`, want: formatABC},
	{name: "msm conditional chain stops", in: `{"bool":{` + shouldABC + `,"minimum_should_match":"1<-1 5<1"}}`, want: format2of3},
	{
		name: "msm with must",
		in:   `{"bool":{"must":{"term":{"m":"1"}},"should":[{"term":{"f":"A"}},{"term":{"f":"B"}}],"minimum_should_match":1}}`,
		want: `(and (term m "1") (or ` + formatA + ` ` + formatB + `))`,
	},
	{
		name:  "msm 0 with filter",
		in:    `{"bool":{"filter":{"term":{"m":"1"}},` + shouldABC + `,"minimum_should_match":"0"}}`,
		want:  `(term m "1")`,
		notes: []string{"optional_clause_ignored"},
	},
	{
		name:  "should ignored with must",
		in:    `{"bool":{"must":{"term":{"m":"1"}},` + shouldABC + `}}`,
		want:  `(term m "1")`,
		notes: []string{"optional_clause_ignored"},
	},
	{
		name: "nested bools",
		in:   `{"bool":{"must":[{"bool":{"should":[{"term":{"a":"1"}},{"bool":{"must_not":{"term":{"b":"2"}}}}]}}]}}`,
		want: `(or (term a "1") (not (term b "2")))`,
	},
}

func TestParse(t *testing.T) {
	for _, group := range [][]parseCase{leafCases, compoundCases, boolCases} {
		for _, tc := range group {
			t.Run(tc.name, func(t *testing.T) {
				checkParse(t, tc)
			})
		}
	}
}

func checkParse(t *testing.T, tc parseCase) {
	t.Helper()
	q, err := Parse([]byte(tc.in))
	if err != nil {
		t.Fatalf("Parse(%s): %v", tc.in, err)
	}
	if got := ast.Format(q.Root); got != tc.want {
		t.Errorf("Parse(%s)\n got %s\nwant %s", tc.in, got, tc.want)
	}
	if q.Language != ast.ESDSL || q.Source != tc.in {
		t.Errorf("Parse(%s): language %q, source %q", tc.in, q.Language, q.Source)
	}
	if diff := cmp.Diff(tc.notes, noteCodes(q.Notes)); diff != "" {
		t.Errorf("Parse(%s) note codes (-want +got):\n%s", tc.in, diff)
	}
}

func noteCodes(notes fidelity.Reasons) []string {
	var codes []string
	for _, n := range notes {
		if !slices.Contains(codes, n.Code) {
			codes = append(codes, n.Code)
		}
	}
	return codes
}

// shouldClauses returns n should clauses on field f with values 0..n-1.
func shouldClauses(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = `{"term":{"f":"` + string(rune('a'+i)) + `"}}`
	}
	return `"should":[` + strings.Join(parts, ",") + `]`
}

func TestMinimumShouldMatchExpansion(t *testing.T) {
	tests := []struct {
		n, k         int
		alternatives int // 0 when the expansion is over the cap
	}{
		{n: 4, k: 2, alternatives: 6},
		{n: 5, k: 3, alternatives: 10},
		{n: 7, k: 3, alternatives: 35},
		{n: 7, k: 2, alternatives: 21},
		{n: 8, k: 4},
		{n: 12, k: 6},
		{n: 40, k: 20},
	}
	for _, tc := range tests {
		in := `{"bool":{` + shouldClauses(tc.n) + `,"minimum_should_match":` + strconv.Itoa(tc.k) + `}}`
		q, err := Parse([]byte(in))
		if err != nil {
			t.Fatalf("n=%d k=%d: %v", tc.n, tc.k, err)
		}
		if tc.alternatives == 0 {
			u, ok := q.Root.(ast.Unsupported)
			if !ok || u.Kind != "minimum_should_match" || u.Text != in || u.Reason == "" {
				t.Errorf("n=%d k=%d: got %s, want unsupported minimum_should_match", tc.n, tc.k, ast.Format(q.Root))
			}
			continue
		}
		or, ok := q.Root.(ast.Or)
		if !ok || len(or.Children) != tc.alternatives {
			t.Fatalf("n=%d k=%d: got %s, want an or of %d alternatives", tc.n, tc.k, ast.Format(q.Root), tc.alternatives)
		}
		seen := map[string]bool{}
		for _, c := range or.Children {
			and, ok := c.(ast.And)
			if !ok || len(and.Children) != tc.k {
				t.Fatalf("n=%d k=%d: alternative %s is not an and of %d", tc.n, tc.k, ast.Format(c), tc.k)
			}
			seen[ast.Format(c)] = true
		}
		if len(seen) != tc.alternatives {
			t.Errorf("n=%d k=%d: %d distinct alternatives, want %d", tc.n, tc.k, len(seen), tc.alternatives)
		}
	}
}

// nestedShould returns bools nested levels deep, each with six should
// clauses of which three must match.
func nestedShould(levels int) string {
	if levels == 0 {
		return `{"term":{"f":"v"}}`
	}
	inner := nestedShould(levels - 1)
	return `{"bool":{"should":[` + strings.Repeat(inner+",", 5) + inner + `],"minimum_should_match":3}}`
}

func TestMinimumShouldMatchNestedExpansion(t *testing.T) {
	q, err := Parse([]byte(nestedShould(2)))
	if err != nil {
		t.Fatal(err)
	}
	if or, ok := q.Root.(ast.Or); !ok || len(or.Children) != 20 {
		t.Errorf("two levels: got %.100s, want an or of 20 alternatives", ast.Format(q.Root))
	}
	if size := treeSize(q.Root, 1<<30); size > maxExpandedNodes {
		t.Errorf("two levels: tree of %d nodes, want at most %d", size, maxExpandedNodes)
	}

	q, err = Parse([]byte(nestedShould(3)))
	if err != nil {
		t.Fatal(err)
	}
	u, ok := q.Root.(ast.Unsupported)
	if !ok || u.Kind != "minimum_should_match" || !strings.Contains(u.Reason, "nodes") {
		t.Errorf("three levels: got %.100s, want unsupported minimum_should_match", ast.Format(q.Root))
	}
}

func TestMinimumShouldMatchSpec(t *testing.T) {
	tests := []struct {
		n    int
		spec string
		want int
	}{
		{n: 3, spec: "1", want: 1},
		{n: 3, spec: "-1", want: 2},
		{n: 3, spec: "-4", want: 0},
		{n: 3, spec: "50%", want: 1},
		{n: 3, spec: "-25%", want: 3},
		{n: 4, spec: "-25%", want: 3},
		{n: 10, spec: "70%", want: 7},
		{n: 10, spec: "-70%", want: 3},
		{n: 3, spec: "3<90%", want: 3},
		{n: 5, spec: "3<90%", want: 4},
		{n: 2, spec: "2<-25% 9<-3", want: 2},
		{n: 8, spec: "2<-25% 9<-3", want: 6},
		{n: 12, spec: "2<-25% 9<-3", want: 9},
		{n: 5, spec: " 3 <  90% ", want: 4},
		{n: 5, spec: "+2", want: 2},
	}
	for _, tc := range tests {
		got, err := minimumShouldMatch(tc.n, tc.spec)
		if err != nil || got != tc.want {
			t.Errorf("minimumShouldMatch(%d, %q) = %d, %v; want %d", tc.n, tc.spec, got, err, tc.want)
		}
	}
	for _, spec := range []string{"", "abc", "1.5", "%", "50%%", "3<", "x<2", "3<90% 5", "3<abc"} {
		if _, err := minimumShouldMatch(5, spec); err == nil {
			t.Errorf("minimumShouldMatch(5, %q) succeeded, want an error", spec)
		}
	}
}

// errorCase is malformed input, the byte offset the error must point at, a
// substring of its message, and an optional sentinel it must wrap.
type errorCase struct {
	name   string
	in     string
	offset int
	msg    string
	is     error
}

var errorCases = []errorCase{
	{name: "empty input", in: ``, offset: 0, msg: "unexpected end of input"},
	{name: "only spaces", in: "  \n", offset: 3, msg: "unexpected end of input"},
	{name: "truncated array", in: `{"bool":{"must":[`, offset: 17, msg: "bool.must[0]: invalid JSON: unexpected end of input"},
	{name: "truncated after value", in: `{"term":{"a":"b"`, offset: 16, msg: "term: invalid JSON: unexpected end of input, expected ',' or '}'"},
	{name: "truncated string", in: `{"term":{"a":"b`, offset: 15, msg: "term.a: invalid JSON: unexpected end of input inside a string"},
	{name: "truncated key", in: `{"ter`, offset: 5, msg: "unexpected end of input inside a string"},
	{name: "truncated literal", in: `{"term":{"a":tru`, offset: 13, msg: "term.a: invalid JSON: unexpected 't'"},
	{name: "truncated number", in: `{"term":{"a":-`, offset: 14, msg: "inside a number"},
	{name: "truncated escape", in: `{"term":{"a":"\u12`, offset: 14, msg: "truncated \\u escape"},
	{name: "trailing data", in: `{"match_all":{}} x`, offset: 17, msg: "unexpected 'x' after the JSON value"},
	{name: "missing colon", in: `{"term" {}}`, offset: 8, msg: "expected ':'"},
	{name: "missing comma", in: `{"bool":{"must":[{"match_all":{}} {"match_all":{}}]}}`, offset: 34, msg: "bool.must: invalid JSON: unexpected '{', expected ',' or ']'"},
	{name: "unquoted key", in: `{term:{}}`, offset: 1, msg: "expected an object key in double quotes"},
	{name: "leading zero", in: `{"term":{"a":01}}`, offset: 14, msg: "expected ',' or '}'"},
	{name: "bad escape", in: `{"term":{"a":"\x"}}`, offset: 14, msg: "term.a: invalid JSON: invalid escape sequence \\'x'"},
	{name: "control character", in: "{\"term\":{\"a\":\"b\nc\"}}", offset: 15, msg: "control character 0x0a"},
	{name: "duplicate key", in: `{"term":{"a":"b","a":"c"}}`, offset: 17, msg: "term: invalid JSON: duplicate key \"a\""},
	{name: "invalid utf8 in string", in: "{\"term\":{\"a\":\"b\xffc\"}}", offset: 15, msg: "term.a: invalid JSON: invalid UTF-8 byte 0xff inside a string", is: ast.ErrInvalidUTF8},
	{name: "invalid utf8 in key", in: "{\"te\xc3rm\":{}}", offset: 4, msg: "invalid UTF-8 byte 0xc3", is: ast.ErrInvalidUTF8},
	{name: "invalid utf8 outside strings", in: "{\"term\":\xff}", offset: 8, msg: "term: invalid JSON: invalid UTF-8 byte 0xff", is: ast.ErrInvalidUTF8},

	{name: "top level array", in: `[]`, offset: 0, msg: "expected a query object, found an array"},
	{name: "top level string", in: `"x"`, offset: 0, msg: "expected a query object, found a string"},
	{name: "empty query object", in: `{}`, offset: 0, msg: "empty query object"},
	{name: "two query names", in: `{"term":{"a":"b"},"match":{"c":"d"}}`, offset: 18, msg: `one object holds two queries, "term" and "match"`},
	{
		name:   "two query names in clause",
		in:     `{"bool":{"must":[{"match_all":{}},{"term":{"a":"b"},"exists":{"field":"c"}}]}}`,
		offset: 52,
		msg:    `bool.must[1]: one object holds two queries`,
	},
	{
		name:   "range bounds string",
		in:     `{"query":{"bool":{"must":[{"term":{"a":1}},{"range":{"bytes":"x"}}]}}}`,
		offset: 61,
		msg:    "query.bool.must[1].range.bytes: expected an object, found a string",
	},
	{name: "range string", in: `{"range":"x"}`, offset: 9, msg: "range: expected an object, found a string"},
	{name: "range bound object", in: `{"range":{"n":{"gte":{}}}}`, offset: 21, msg: "range.n.gte: expected a string or number, found an object"},
	{name: "range include not bool", in: `{"range":{"n":{"include_lower":1}}}`, offset: 31, msg: "range.n.include_lower: expected true or false, found a number"},
	{name: "range bad relation", in: `{"range":{"n":{"relation":"near"}}}`, offset: 26, msg: `invalid relation "near"`},
	{name: "range two fields", in: `{"range":{"a":{},"b":{}}}`, offset: 17, msg: `the range query takes one field, found "a" and "b"`},
	{name: "bool string", in: `{"bool":"x"}`, offset: 8, msg: "bool: expected an object, found a string"},
	{name: "bool clause string", in: `{"bool":{"must":"x"}}`, offset: 16, msg: "bool.must: expected a query object or an array of them, found a string"},
	{name: "bool clause element", in: `{"bool":{"filter":[{"match_all":{}},3]}}`, offset: 36, msg: "bool.filter[1]: expected a query object, found a number"},
	{name: "bool empty clause", in: `{"bool":{"must":[{}]}}`, offset: 17, msg: "bool.must[0]: empty query object"},
	{name: "msm invalid", in: `{"bool":{"should":[{"match_all":{}}],"minimum_should_match":"abc"}}`, offset: 60, msg: `bool.minimum_should_match: invalid minimum_should_match "abc"`},
	{name: "msm decimal", in: `{"bool":{"should":[{"match_all":{}}],"minimum_should_match":1.5}}`, offset: 60, msg: "invalid minimum_should_match"},
	{name: "msm object", in: `{"bool":{"minimum_should_match":{}}}`, offset: 32, msg: "expected an integer or a percentage"},
	{name: "term array", in: `{"term":{"a":[1]}}`, offset: 13, msg: "term.a: expected a string, number or boolean, found an array"},
	{name: "term null", in: `{"term":{"a":null}}`, offset: 13, msg: "found null"},
	{name: "term no field", in: `{"term":{}}`, offset: 8, msg: "the term query names no field"},
	{name: "term two fields", in: `{"term":{"a":"1","b":"2"}}`, offset: 17, msg: `the term query takes one field, found "a" and "b"`},
	{name: "term missing value", in: `{"term":{"a":{"boost":1}}}`, offset: 13, msg: `term.a: missing "value"`},
	{name: "term ci not bool", in: `{"term":{"a":{"value":"x","case_insensitive":"yes"}}}`, offset: 45, msg: "expected true or false, found a string"},
	{name: "match missing query", in: `{"match":{"a":{"operator":"and"}}}`, offset: 14, msg: `match.a: missing "query"`},
	{name: "match bad operator", in: `{"match":{"a":{"query":"x","operator":"xor"}}}`, offset: 38, msg: `match.a.operator: invalid operator "xor"`},
	{name: "match bad type", in: `{"match":{"a":{"query":"x","type":"fuzzy"}}}`, offset: 34, msg: `match.a.type: invalid match type "fuzzy"`},
	{name: "match query object", in: `{"match":{"a":{"query":{}}}}`, offset: 23, msg: "match.a.query: expected a string, number or boolean"},
	{name: "match slop string", in: `{"match_phrase":{"a":{"query":"x","slop":"far"}}}`, offset: 41, msg: "match_phrase.a.slop: expected an integer"},
	{name: "multi_match fields number", in: `{"multi_match":{"query":"x","fields":3}}`, offset: 37, msg: "multi_match.fields: expected an array of field names"},
	{name: "multi_match field number", in: `{"multi_match":{"query":"x","fields":["a",3]}}`, offset: 42, msg: "multi_match.fields[1]: expected a string"},
	{name: "multi_match bad type", in: `{"multi_match":{"query":"x","type":"all"}}`, offset: 35, msg: `invalid multi_match type "all"`},
	{name: "terms string", in: `{"terms":{"a":"b"}}`, offset: 14, msg: "terms.a: expected an array of values, found a string"},
	{name: "terms element object", in: `{"terms":{"a":["b",{}]}}`, offset: 19, msg: "terms.a[1]: expected a string, number or boolean"},
	{name: "ids missing values", in: `{"ids":{}}`, offset: 7, msg: `ids: missing "values"`},
	{name: "ids values string", in: `{"ids":{"values":"1"}}`, offset: 17, msg: "ids.values: expected an array of ids"},
	{name: "exists missing field", in: `{"exists":{}}`, offset: 10, msg: `exists: missing "field"`},
	{name: "exists field number", in: `{"exists":{"field":1}}`, offset: 19, msg: "exists.field: expected a string, found a number"},
	{name: "wildcard array", in: `{"wildcard":{"a":[]}}`, offset: 17, msg: "wildcard.a: expected a string, number or boolean"},
	{name: "regexp flags number", in: `{"regexp":{"a":{"value":"x","flags":1}}}`, offset: 36, msg: "regexp.a.flags: expected a string"},
	{name: "match_all string", in: `{"match_all":"x"}`, offset: 13, msg: "match_all: expected an object"},
	{name: "constant_score missing filter", in: `{"constant_score":{"boost":1}}`, offset: 18, msg: `constant_score: missing "filter"`},
	{name: "constant_score bad filter", in: `{"constant_score":{"filter":[]}}`, offset: 28, msg: "constant_score.filter: expected a query object, found an array"},
	{name: "boosting missing negative", in: `{"boosting":{"positive":{"match_all":{}}}}`, offset: 12, msg: `boosting: missing "negative"`},
	{name: "dis_max missing queries", in: `{"dis_max":{}}`, offset: 11, msg: `dis_max: missing "queries"`},
	{name: "script_score missing query", in: `{"script_score":{"script":{}}}`, offset: 16, msg: `script_score: missing "query"`},
	{name: "nested missing path", in: `{"nested":{"query":{"match_all":{}}}}`, offset: 10, msg: `nested: missing "path"`},
	{name: "nested missing query", in: `{"nested":{"path":"p"}}`, offset: 10, msg: `nested: missing "query"`},
	{name: "nested bad query", in: `{"nested":{"path":"p","query":{"term":3}}}`, offset: 38, msg: "nested.query.term: expected an object, found a number"},
	{name: "known unsupported wrong type", in: `{"script":"x"}`, offset: 10, msg: "script: expected an object, found a string"},
	{name: "search body query string", in: `{"query":"x"}`, offset: 9, msg: "query: expected a query object, found a string"},
	{name: "search body bad post_filter", in: `{"query":{"match_all":{}},"post_filter":[]}`, offset: 40, msg: "post_filter: expected a query object"},
	{name: "odd key in path", in: `{"range":{"a b":"x"}}`, offset: 16, msg: `range["a b"]: expected an object`},
}

func TestParseErrors(t *testing.T) {
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			checkError(t, tc, err)
		})
	}
}

func checkError(t *testing.T, tc errorCase, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("parsing %q succeeded, want an error", tc.in)
	}
	var se *ast.SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("parsing %q: error %T is not an *ast.SyntaxError: %v", tc.in, err, err)
	}
	if se.Offset != tc.offset {
		t.Errorf("parsing %q: offset %d, want %d (%v)", tc.in, se.Offset, tc.offset, err)
	}
	if !strings.Contains(se.Msg, tc.msg) {
		t.Errorf("parsing %q: message %q does not contain %q", tc.in, se.Msg, tc.msg)
	}
	if se.Language != ast.ESDSL || se.Source != tc.in {
		t.Errorf("parsing %q: language %q, source %q", tc.in, se.Language, se.Source)
	}
	if tc.is != nil && !errors.Is(err, tc.is) {
		t.Errorf("parsing %q: error does not wrap %v: %v", tc.in, tc.is, err)
	}
}

func TestParseNotesCapped(t *testing.T) {
	clause := `{"bool":{"must":{"match_all":{}},"should":{"match_all":{}},"boost":2}}`
	in := `{"bool":{"must":[` + strings.Repeat(clause+",", 999) + clause + `]}}`
	q, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	byCode := map[string]int{}
	for _, n := range q.Notes {
		byCode[n.Code]++
	}
	want := map[string]int{"optional_clause_ignored": maxNotesPerCode + 1, "boost_ignored": 1}
	if diff := cmp.Diff(want, byCode); diff != "" {
		t.Errorf("notes per code (-want +got):\n%s", diff)
	}
	last := q.Notes[len(q.Notes)-1]
	if !strings.Contains(last.Message, "only the first 20 are listed") {
		t.Errorf("last note %q does not say that notes were left out", last.Message)
	}
}

func TestParseDuplicateKeyWideObject(t *testing.T) {
	keys := make([]string, 40)
	for i := range keys {
		keys[i] = `"k` + strconv.Itoa(i) + `":1`
	}
	keys = append(keys, `"k30":2`)
	in := `{"function_score":{` + strings.Join(keys, ",") + `}}`
	_, err := Parse([]byte(in))
	checkError(t, errorCase{in: in, offset: strings.LastIndex(in, `"k30"`), msg: `function_score: invalid JSON: duplicate key "k30"`}, err)
}

func TestParseDepth(t *testing.T) {
	const levels = 10000
	tests := map[string]string{
		"array":            strings.Repeat("[", levels) + strings.Repeat("]", levels),
		"object":           strings.Repeat(`{"a":`, levels) + "1" + strings.Repeat("}", levels),
		"bool arrays":      strings.Repeat(`{"bool":{"must":[`, levels) + `{"match_all":{}}` + strings.Repeat("]}}", levels),
		"bool objects 200": strings.Repeat(`{"bool":{"must":`, 200) + `{"match_all":{}}` + strings.Repeat("}}", 200),
		"constant_score":   strings.Repeat(`{"constant_score":{"filter":`, 200) + `{"match_all":{}}` + strings.Repeat("}}", 200),
		"truncated bools":  strings.Repeat(`{"bool":{"must":[`, levels),
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(in))
			if !errors.Is(err, ast.ErrTooDeep) {
				t.Fatalf("got %v, want an error wrapping ast.ErrTooDeep", err)
			}
			var se *ast.SyntaxError
			if !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(in) {
				t.Errorf("error %v has no offset within the input", err)
			}
		})
	}
}

func TestParseDepthWithinLimit(t *testing.T) {
	const levels = ast.MaxDepth - 1
	in := strings.Repeat(`{"bool":{"must":[`, levels) + `{"match_all":{}}` + strings.Repeat("]}}", levels)
	q, err := Parse([]byte(in))
	if err != nil {
		t.Fatalf("a bool nested %d levels: %v", levels, err)
	}
	if got := ast.Format(q.Root); got != "(all)" {
		t.Errorf("got %s, want (all)", got)
	}
}

// stringQueryCase is a query_string or simple_query_string query, the text
// and options the Lucene parser must receive, and the note codes the DSL
// parser adds to the Lucene parser's.
type stringQueryCase struct {
	name   string
	in     string
	text   string
	opts   lucene.Options
	simple bool
	notes  []string
}

var queryStringCases = []stringQueryCase{
	{name: "kibana 5 star", in: `{"query_string":{"query":"*","analyze_wildcard":true}}`, text: "*"},
	{
		name: "kibana 5 exists",
		in:   `{"query_string":{"query":"_exists_:\"trace.class\" AND fields.pipeline:kafka-logs","analyze_wildcard":true}}`,
		text: `_exists_:"trace.class" AND fields.pipeline:kafka-logs`,
	},
	{
		name: "default field and operator",
		in:   `{"query_string":{"query":"a b","default_field":"msg","default_operator":"AND"}}`,
		text: "a b",
		opts: lucene.Options{DefaultOperator: ast.OpAnd, DefaultFields: []string{"msg"}},
	},
	{
		name:  "fields with boost",
		in:    `{"query_string":{"query":"a b","fields":["x^2","y"],"default_operator":"or"}}`,
		text:  "a b",
		opts:  lucene.Options{DefaultFields: []string{"x", "y"}},
		notes: []string{"boost_ignored"},
	},
	{name: "all field", in: `{"query_string":{"query":"a","default_field":"_all"}}`, text: "a"},
	{name: "star field", in: `{"query_string":{"query":"a","fields":["*"]}}`, text: "a"},
	{name: "all_fields", in: `{"query_string":{"query":"a","all_fields":true}}`, text: "a"},
	{name: "escape", in: `{"query_string":{"query":"a:(b) c*","escape":true}}`, text: `a\:\(b\) c\*`},
	{
		name:  "options noted",
		in:    `{"query_string":{"query":"a","analyzer":"simple","minimum_should_match":"2","type":"phrase","boost":2,"frobnicate":1}}`,
		text:  "a",
		notes: []string{"analyzer_ignored", "option_ignored", "boost_ignored", "unknown_option"},
	},
	{name: "simple", in: `{"simple_query_string":{"query":"a +b -c"}}`, text: "a +b -c", simple: true},
	{
		name:   "simple fields and operator",
		in:     `{"simple_query_string":{"query":"\"x y\" | z*","fields":["title^3","body"],"default_operator":"and","analyze_wildcard":true}}`,
		text:   `"x y" | z*`,
		opts:   lucene.Options{DefaultOperator: ast.OpAnd, DefaultFields: []string{"title", "body"}},
		simple: true,
		notes:  []string{"boost_ignored"},
	},
	{name: "simple all flags", in: `{"simple_query_string":{"query":"a","flags":"ALL"}}`, text: "a", simple: true},
	{
		name:   "simple limited flags",
		in:     `{"simple_query_string":{"query":"a","flags":"OR|AND"}}`,
		text:   "a",
		simple: true,
		notes:  []string{"option_ignored"},
	},
	{
		name:   "simple query_string options",
		in:     `{"simple_query_string":{"query":"a","default_field":"x","time_zone":"UTC"}}`,
		text:   "a",
		simple: true,
		notes:  []string{"unknown_option"},
	},
	{name: "simple syntax is text", in: `{"simple_query_string":{"query":"a:(b"}}`, text: "a:(b", simple: true},
}

func TestQueryString(t *testing.T) {
	for _, tc := range queryStringCases {
		t.Run(tc.name, func(t *testing.T) {
			parse := lucene.ParseWithOptions
			if tc.simple {
				parse = lucene.ParseSimple
			}
			want, err := parse(tc.text, tc.opts)
			if err != nil {
				t.Fatalf("parsing %q with the Lucene parser: %v", tc.text, err)
			}
			notes := noteCodes(want.Notes)
			for _, code := range tc.notes {
				if !slices.Contains(notes, code) {
					notes = append(notes, code)
				}
			}
			checkParse(t, parseCase{in: tc.in, want: ast.Format(want.Root), notes: notes})
		})
	}
}

var stringQueryTreeCases = []parseCase{
	{name: "empty query_string", in: `{"query_string":{"query":"  "}}`, want: `(none)`},
	{name: "empty simple_query_string", in: `{"simple_query_string":{"query":""}}`, want: `(none)`},
	{
		name: "time_zone and phrase_slop",
		in:   `{"query_string":{"query":"\"a b\" AND d:[1 TO 2] AND \"c d\"~1","time_zone":"Europe/Paris","phrase_slop":2}}`,
		want: `(and (phrase * "a b" ~2) (range d [1 TO 2] tz="Europe/Paris") (phrase * "c d" ~1))`,
	},
	{
		name: "query_string in bool",
		in:   `{"bool":{"filter":[{"query_string":{"query":"status:200"}},{"exists":{"field":"x"}}]}}`,
		want: `(and (match status "200") (exists x))`,
	},
	{
		name: "query_string in nested",
		in:   `{"nested":{"path":"e","query":{"query_string":{"query":"e.d:[1 TO 2]","time_zone":"UTC"}}}}`,
		want: `(nested e (range e.d [1 TO 2] tz="UTC"))`,
	},
}

func TestQueryStringTree(t *testing.T) {
	for _, tc := range stringQueryTreeCases {
		t.Run(tc.name, func(t *testing.T) {
			checkParse(t, tc)
		})
	}
}

var queryStringErrorCases = []errorCase{
	{name: "query missing", in: `{"query_string":{"default_field":"a"}}`, offset: 16, msg: `query_string: missing "query"`},
	{name: "query number", in: `{"query_string":{"query":1}}`, offset: 25, msg: "query_string.query: expected a string, found a number"},
	{name: "fields and default_field", in: `{"query_string":{"query":"a","default_field":"b","fields":["c"]}}`, offset: 58, msg: "fields and default_field cannot be used together"},
	{name: "bad operator", in: `{"query_string":{"query":"a","default_operator":"nand"}}`, offset: 48, msg: `query_string.default_operator: invalid operator "nand"`},
	{name: "fields object", in: `{"query_string":{"query":"a","fields":{}}}`, offset: 38, msg: "query_string.fields: expected an array of field names"},
	{name: "lucene error", in: `{"query_string":{"query":"a:(b"}}`, offset: 28, msg: "query_string.query: invalid Lucene query: "},
	{name: "lucene error after escapes", in: `{"query_string":{"query":"\u00e9\"\t\" a:(b"}}`, offset: 41, msg: "invalid Lucene query"},
	{name: "simple query missing", in: `{"simple_query_string":{}}`, offset: 23, msg: `simple_query_string: missing "query"`},
	{name: "simple too deep", in: `{"simple_query_string":{"query":"` + strings.Repeat("(", 500) + "a" + strings.Repeat(")", 500) + `"}}`, offset: 161, msg: "invalid Lucene query", is: ast.ErrTooDeep},
	{name: "lucene error in filter", in: `{"bool":{"filter":{"query_string":{"query":"(((a"}}}}`, offset: 46, msg: "bool.filter.query_string.query: invalid Lucene query"},
}

func TestQueryStringErrors(t *testing.T) {
	for _, tc := range queryStringErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			checkError(t, tc, err)
		})
	}
}

func TestApplyStringOptions(t *testing.T) {
	tree := ast.Or{Children: []ast.Node{
		ast.Term{Field: "a", Value: "x y", Mode: ast.Phrase},
		ast.Term{Field: "a", Value: "x y", Mode: ast.Phrase, Slop: 1},
		ast.Not{Child: ast.Range{Field: "d", From: "now-1d", HasFrom: true}},
		ast.Range{Field: "e", From: "1", HasFrom: true, TimeZone: "UTC"},
		ast.Term{Field: "a", Value: "z"},
	}}
	got := ast.Format(applyStringOptions(tree, stringQuery{timeZone: "+02:00", phraseSlop: 3}))
	want := `(or (phrase a "x y" ~3) (phrase a "x y" ~1) (not (range d {now-1d TO *} tz="+02:00")) ` +
		`(range e {1 TO *} tz="UTC") (match a "z"))`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestQueryStringInnerError(t *testing.T) {
	_, err := Parse([]byte(`{"query_string":{"query":"a AND (b"}}`))
	var outer *ast.SyntaxError
	if !errors.As(err, &outer) || outer.Language != ast.ESDSL {
		t.Fatalf("got %v, want an esdsl syntax error", err)
	}
	var inner *ast.SyntaxError
	if !errors.As(errors.Unwrap(err), &inner) || inner.Language != ast.Lucene {
		t.Fatalf("unwrapped %v, want the Lucene syntax error", errors.Unwrap(err))
	}
	if !strings.Contains(outer.Msg, inner.Msg) {
		t.Errorf("message %q does not include the Lucene message %q", outer.Msg, inner.Msg)
	}
}

func TestQueryStringDepth(t *testing.T) {
	in := `{"query_string":{"query":"` + strings.Repeat("(", 10000) + "a" + strings.Repeat(")", 10000) + `"}}`
	_, err := Parse([]byte(in))
	if !errors.Is(err, ast.ErrTooDeep) {
		t.Fatalf("got %v, want an error wrapping ast.ErrTooDeep", err)
	}
}

// corpusDir holds real Kibana exports (saved objects from Kibana 5 to 8 and
// OpenSearch Dashboards); the corpus folder sits beside the repository.
const corpusDir = "../../testdata/kibana"

// TestCorpus parses every query DSL object and filter pill found in the
// saved searches and visualizations of the real exports.
func TestCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.*json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no exports found under %s: %v", corpusDir, err)
	}
	c := &corpusCounter{t: t, counts: map[string]int{}}
	for _, file := range files {
		for i, doc := range readExport(t, file) {
			c.where = fmt.Sprintf("%s object %d", filepath.Base(file), i)
			c.walk(decodeNested(doc))
		}
	}
	if c.counts["DSL queries"] == 0 || c.counts["filter pills"] == 0 {
		t.Fatalf("found %d DSL queries and %d filter pills, want some of each",
			c.counts["DSL queries"], c.counts["filter pills"])
	}
	keys := slices.Sorted(maps.Keys(c.counts))
	for _, k := range keys {
		t.Logf("| %s | %d |", k, c.counts[k])
	}
}

// readExport reads a JSON export, or an NDJSON one with an object per line.
func readExport(t *testing.T, file string) []any {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var whole any
	if json.Unmarshal(data, &whole) == nil {
		return []any{whole}
	}
	var docs []any
	for _, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var doc any
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatalf("reading %s: %v", file, err)
		}
		docs = append(docs, doc)
	}
	return docs
}

// decodeNested replaces strings that hold JSON objects or arrays, such as
// searchSourceJSON and visState in real exports, by their decoded value.
func decodeNested(v any) any {
	switch v := v.(type) {
	case string:
		s := strings.TrimSpace(v)
		if strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[") {
			var inner any
			if json.Unmarshal([]byte(s), &inner) == nil {
				return decodeNested(inner)
			}
		}
		return v
	case map[string]any:
		for k, x := range v {
			v[k] = decodeNested(x)
		}
	case []any:
		for i, x := range v {
			v[i] = decodeNested(x)
		}
	}
	return v
}

type corpusCounter struct {
	t      *testing.T
	where  string
	counts map[string]int
}

// walk finds search sources and filter arrays anywhere in a saved object.
func (c *corpusCounter) walk(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if k == "searchSourceJSON" {
				c.searchSource(x)
			}
			if (k == "filter" || k == "filters") && isPillArray(x) {
				c.pills(x)
			}
			c.walk(x)
		}
	case []any:
		for _, x := range v {
			c.walk(x)
		}
	}
}

func isPillArray(v any) bool {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return false
	}
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return false
		}
		if _, ok := m["meta"]; !ok {
			if _, ok := m["query"]; !ok {
				return false
			}
		}
	}
	return true
}

// searchSource parses the DSL query of a search source. Kibana 6 and later
// keep {"query":"...","language":"kuery"} there instead, which is not DSL
// unless its query is an object.
func (c *corpusCounter) searchSource(v any) {
	ss, ok := v.(map[string]any)
	if !ok {
		return
	}
	q, ok := ss["query"].(map[string]any)
	if !ok {
		return
	}
	if _, kibanaQuery := q["language"]; kibanaQuery {
		if q, ok = q["query"].(map[string]any); !ok {
			return
		}
	}
	raw, _ := json.Marshal(q)
	res, err := Parse(raw)
	if err != nil {
		c.t.Errorf("%s: Parse(%s): %v", c.where, raw, err)
		return
	}
	c.counts["DSL queries"]++
	c.countQuery(q)
	c.checkTree(res.Root, raw)
}

func (c *corpusCounter) pills(v any) {
	raw, _ := json.Marshal(v)
	filters, err := ParseFilters(raw)
	if err != nil {
		c.t.Errorf("%s: ParseFilters(%s): %v", c.where, raw, err)
		return
	}
	for i, pill := range v.([]any) {
		f := filters[i]
		c.counts["filter pills"]++
		m := pill.(map[string]any)
		for k, x := range m {
			switch k {
			case "meta", "$state":
			case "query":
				c.countQuery(x)
			default:
				c.countQuery(map[string]any{k: x})
			}
		}
		if f.Meta.Type != "" {
			c.counts["pill meta.type "+f.Meta.Type]++
		}
		if f.Negate {
			c.counts["pills negated"]++
		}
		if f.Disabled {
			c.counts["pills disabled"]++
		}
		c.checkTree(f.Node, raw)
	}
}

// countQuery counts the query names of a DSL query and its sub-queries.
func (c *corpusCounter) countQuery(v any) {
	q, ok := v.(map[string]any)
	if !ok {
		return
	}
	for name, body := range q {
		c.counts["query "+name]++
		b, _ := body.(map[string]any)
		for _, key := range []string{"must", "filter", "should", "must_not", "query", "queries", "positive", "negative"} {
			switch sub := b[key].(type) {
			case map[string]any:
				c.countQuery(sub)
			case []any:
				for _, s := range sub {
					c.countQuery(s)
				}
			}
		}
	}
}

// checkTree fails on a tree that holds a nil node.
func (c *corpusCounter) checkTree(n ast.Node, raw []byte) {
	if s := ast.Format(n); strings.Contains(s, "(nil)") || strings.Contains(s, "(?)") {
		c.t.Errorf("%s: %s parsed into %s", c.where, raw, s)
	}
}
