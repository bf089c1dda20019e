package esdsl

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/obs-migrate/migrate/translators/ast"
)

// filterCase is one pill and what ParseFilter must return for it.
type filterCase struct {
	name     string
	in       string
	want     string
	disabled bool
	negate   bool
	alias    string
	meta     Meta
	notes    []string
}

var filterCases = []filterCase{
	{
		name: "phrase",
		in:   `{"meta":{"alias":null,"negate":false,"disabled":false,"type":"phrase","key":"host","params":{"query":"web-1"},"index":"logs-*"},"query":{"match_phrase":{"host":"web-1"}},"$state":{"store":"appState"}}`,
		want: `(phrase host "web-1")`,
		meta: Meta{Type: "phrase", Key: "host", Index: "logs-*"},
	},
	{
		name:   "phrase negated",
		in:     `{"meta":{"negate":true,"type":"phrase","key":"host","params":{"query":"web-1"}},"query":{"match_phrase":{"host":"web-1"}}}`,
		want:   `(not (phrase host "web-1"))`,
		negate: true,
		meta:   Meta{Type: "phrase", Key: "host"},
	},
	{
		name:     "disabled",
		in:       `{"meta":{"disabled":true,"type":"phrase","key":"host"},"query":{"match_phrase":{"host":"web-1"}}}`,
		want:     `(phrase host "web-1")`,
		disabled: true,
		meta:     Meta{Type: "phrase", Key: "host"},
	},
	{
		name:  "alias",
		in:    `{"meta":{"alias":"Only errors","type":"custom","key":"query","value":"{\"bool\":{}}"},"query":{"bool":{"filter":[{"term":{"log.level":"error"}}]}}}`,
		want:  `(term log.level "error")`,
		alias: "Only errors",
		meta:  Meta{Type: "custom", Key: "query", Value: `{"bool":{}}`},
	},
	{
		name: "phrases",
		in:   `{"meta":{"type":"phrases","key":"status","params":["200","404"],"value":"200, 404"},"query":{"bool":{"should":[{"match_phrase":{"status":"200"}},{"match_phrase":{"status":"404"}}],"minimum_should_match":1}}}`,
		want: `(or (phrase status "200") (phrase status "404"))`,
		meta: Meta{Type: "phrases", Key: "status", Value: "200, 404"},
	},
	{
		name: "range",
		in:   `{"meta":{"type":"range","key":"bytes","params":{"gte":100,"lt":200},"value":"100 to 200"},"query":{"range":{"bytes":{"gte":100,"lt":200}}}}`,
		want: `(range bytes [100 TO 200})`,
		meta: Meta{Type: "range", Key: "bytes", Value: "100 to 200"},
	},
	{
		name:   "exists negated",
		in:     `{"meta":{"alias":null,"negate":true,"disabled":false,"type":"exists","key":"dhcpv6.client.ip","value":"exists","indexRefName":"kibanaSavedObjectMeta.searchSourceJSON.filter[0].meta.index"},"query":{"exists":{"field":"dhcpv6.client.ip"}},"$state":{"store":"appState"}}`,
		want:   `(not (exists dhcpv6.client.ip))`,
		negate: true,
		meta:   Meta{Type: "exists", Key: "dhcpv6.client.ip", Value: "exists"},
	},
	{
		name: "query_string pill",
		in:   `{"meta":{"type":"query_string","key":"query"},"query":{"query_string":{"query":"status:200 AND host:web"}}}`,
		want: `(and (match status "200") (match host "web"))`,
		meta: Meta{Type: "query_string", Key: "query"},
	},
	{
		name: "input control",
		in:   `{"meta":{"key":"account_id","controlledBy":"1568104750556","type":"phrase","params":{"query":"8de2"},"disabled":false,"negate":false,"alias":null},"query":{"match":{"account_id":{"query":"8de2","type":"phrase"}}},"$state":{"store":"appState"}}`,
		want: `(phrase account_id "8de2")`,
		meta: Meta{Type: "phrase", Key: "account_id", ControlledBy: "1568104750556"},
	},
	{
		name: "kibana 5 match phrase",
		in:   `{"meta":{"index":"apache","key":"response","value":"200","disabled":false,"negate":true,"apply":true},"query":{"match":{"response":{"query":200,"type":"phrase"}}}}`,
		want: `(not (phrase response "200"))`, negate: true,
		meta: Meta{Key: "response", Value: "200", Index: "apache"},
	},
	{
		name: "kibana 5 dashboard query",
		in:   `{"query":{"query_string":{"analyze_wildcard":true,"query":"*"}}}`,
		want: `(all)`,
	},
	{
		name: "old exists",
		in:   `{"meta":{"type":"exists","key":"x"},"exists":{"field":"x"},"$state":{"store":"globalState"}}`,
		want: `(exists x)`,
		meta: Meta{Type: "exists", Key: "x"},
	},
	{
		name: "old range",
		in:   `{"meta":{"key":"bytes","negate":false},"range":{"bytes":{"gte":1,"lt":5}}}`,
		want: `(range bytes [1 TO 5})`,
		meta: Meta{Key: "bytes"},
	},
	{
		name: "old script",
		in:   `{"meta":{"field":"x","negate":true},"script":{"script":{"inline":"doc['x'].value > 1","lang":"painless"}}}`,
		want: `(not (unsupported script "{\"script\":{\"script\":{\"inline\":\"doc['x'].value > 1\",\"lang\":\"painless\"}}}"))`, negate: true,
	},
	{
		name: "old geo",
		in:   `{"meta":{"key":"geo"},"geo_bounding_box":{"geo":{"top_left":[0,1],"bottom_right":[1,0]}}}`,
		want: `(unsupported geo_bounding_box "{\"geo_bounding_box\":{\"geo\":{\"top_left\":[0,1],\"bottom_right\":[1,0]}}}")`,
		meta: Meta{Key: "geo"},
	},
	{
		name: "old missing",
		in:   `{"meta":{"key":"x"},"missing":{"field":"x"}}`,
		want: `(not (exists x))`,
		meta: Meta{Key: "x"},
	},
	{
		name: "old match_all",
		in:   `{"meta":{"type":"match_all","key":"query"},"match_all":{}}`,
		want: `(all)`,
		meta: Meta{Type: "match_all", Key: "query"},
	},
	{
		name: "meta only phrase",
		in:   `{"meta":{"type":"phrase","key":"host","params":{"query":"web-1"}}}`,
		want: `(phrase host "web-1")`,
		meta: Meta{Type: "phrase", Key: "host"},
	},
	{
		name: "meta only phrase number",
		in:   `{"meta":{"type":"phrase","key":"port","params":{"query":443},"negate":true}}`,
		want: `(not (phrase port "443"))`, negate: true,
		meta: Meta{Type: "phrase", Key: "port"},
	},
	{
		name: "meta only phrases",
		in:   `{"meta":{"type":"phrases","key":"status","params":["200",404]}}`,
		want: `(or (phrase status "200") (phrase status "404"))`,
		meta: Meta{Type: "phrases", Key: "status"},
	},
	{
		name: "meta only phrases empty",
		in:   `{"meta":{"type":"phrases","key":"status","params":[]}}`,
		want: `(none)`,
		meta: Meta{Type: "phrases", Key: "status"},
	},
	{
		name: "meta only exists",
		in:   `{"meta":{"type":"exists","key":"x"}}`,
		want: `(exists x)`,
		meta: Meta{Type: "exists", Key: "x"},
	},
	{
		name: "meta only range",
		in:   `{"meta":{"type":"range","key":"@timestamp","params":{"gte":"now-1d","lte":"now","format":"strict_date_optional_time"}}}`,
		want: `(range @timestamp [now-1d TO now] format="strict_date_optional_time")`,
		meta: Meta{Type: "range", Key: "@timestamp"},
	},
	{
		name: "combined or",
		in:   `{"meta":{"type":"combined","relation":"OR","params":[{"meta":{"type":"phrase","key":"a","params":{"query":"1"}},"query":{"match_phrase":{"a":"1"}}},{"meta":{"negate":true},"query":{"exists":{"field":"b"}}},{"meta":{"disabled":true},"query":{"exists":{"field":"c"}}}]}}`,
		want: `(or (phrase a "1") (not (exists b)))`,
		meta: Meta{Type: "combined", Relation: "OR"},
	},
	{
		name: "combined and nested",
		in:   `{"meta":{"type":"combined","params":[{"query":{"exists":{"field":"a"}}},{"meta":{"type":"combined","relation":"or","params":[{"query":{"exists":{"field":"b"}}},{"query":{"exists":{"field":"c"}}}]}}]}}`,
		want: `(and (exists a) (or (exists b) (exists c)))`,
		meta: Meta{Type: "combined"},
	},
	{
		name:  "notes",
		in:    `{"meta":{},"query":{"bool":{"must":{"term":{"a":"b"}},"should":{"term":{"c":"d"}},"boost":2}}}`,
		want:  `(term a "b")`,
		notes: []string{"boost_ignored", "optional_clause_ignored"},
	},
	{
		name: "null meta",
		in:   `{"meta":null,"query":{"match_all":{}}}`,
		want: `(all)`,
	},
}

func TestParseFilter(t *testing.T) {
	for _, tc := range filterCases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFilter([]byte(tc.in))
			if err != nil {
				t.Fatalf("ParseFilter(%s): %v", tc.in, err)
			}
			checkFilter(t, tc, f)
		})
	}
}

func checkFilter(t *testing.T, tc filterCase, f Filter) {
	t.Helper()
	if got := ast.Format(f.Node); got != tc.want {
		t.Errorf("%s\n got %s\nwant %s", tc.in, got, tc.want)
	}
	if f.Disabled != tc.disabled || f.Negate != tc.negate || f.Alias != tc.alias {
		t.Errorf("%s: disabled %v negate %v alias %q; want %v %v %q",
			tc.in, f.Disabled, f.Negate, f.Alias, tc.disabled, tc.negate, tc.alias)
	}
	if diff := cmp.Diff(tc.meta, f.Meta); diff != "" {
		t.Errorf("%s: meta (-want +got):\n%s", tc.in, diff)
	}
	if diff := cmp.Diff(tc.notes, noteCodes(f.Notes)); diff != "" {
		t.Errorf("%s: note codes (-want +got):\n%s", tc.in, diff)
	}
	if f.Source != tc.in {
		t.Errorf("source %q, want %q", f.Source, tc.in)
	}
}

func TestParseFilters(t *testing.T) {
	var pills []string
	for _, tc := range filterCases {
		pills = append(pills, tc.in)
	}
	raw := "[\n" + strings.Join(pills, ",\n") + "\n]"
	filters, err := ParseFilters([]byte(raw))
	if err != nil {
		t.Fatalf("ParseFilters: %v", err)
	}
	if len(filters) != len(filterCases) {
		t.Fatalf("got %d filters, want %d", len(filters), len(filterCases))
	}
	for i, tc := range filterCases {
		checkFilter(t, tc, filters[i])
	}
}

func TestParseFiltersEmpty(t *testing.T) {
	for _, in := range []string{`[]`, ` null `} {
		filters, err := ParseFilters([]byte(in))
		if err != nil || len(filters) != 0 {
			t.Errorf("ParseFilters(%s) = %v, %v; want no filters", in, filters, err)
		}
	}
}

var filterErrorCases = []errorCase{
	{name: "not an object", in: `"x"`, offset: 0, msg: "expected a filter pill object, found a string"},
	{name: "truncated", in: `{"meta":{"negate":true},"query":{"exists":`, offset: 42, msg: "query.exists: invalid JSON: unexpected end of input"},
	{name: "meta string", in: `{"meta":"x","query":{"match_all":{}}}`, offset: 8, msg: "meta: expected an object, found a string"},
	{name: "negate string", in: `{"meta":{"negate":"yes"},"query":{"match_all":{}}}`, offset: 18, msg: "meta.negate: expected true or false, found a string"},
	{name: "disabled number", in: `{"meta":{"disabled":1},"query":{"match_all":{}}}`, offset: 20, msg: "meta.disabled: expected true or false"},
	{name: "alias number", in: `{"meta":{"alias":1},"query":{"match_all":{}}}`, offset: 17, msg: "meta.alias: expected a string"},
	{name: "two queries", in: `{"meta":{},"query":{"match_all":{}},"exists":{"field":"x"}}`, offset: 36, msg: `the filter pill holds two queries, "query" and "exists"`},
	{name: "no query no meta", in: `{"$state":{"store":"appState"}}`, offset: 0, msg: "the filter pill has no query and no meta.type"},
	{name: "meta only custom", in: `{"meta":{"type":"custom","key":"query"}}`, offset: 0, msg: `a pill of meta.type "custom" cannot be rebuilt from its meta`},
	{name: "meta only no key", in: `{"meta":{"type":"phrase","params":{"query":"x"}}}`, offset: 8, msg: "meta: missing key"},
	{name: "meta only no params", in: `{"meta":{"type":"range","key":"x"}}`, offset: 8, msg: "meta: missing params"},
	{name: "meta only phrase no query", in: `{"meta":{"type":"phrase","key":"x","params":{}}}`, offset: 44, msg: "meta.params: missing query"},
	{name: "meta only phrases object", in: `{"meta":{"type":"phrases","key":"x","params":{}}}`, offset: 45, msg: "meta.params: expected an array of values"},
	{name: "meta only range string", in: `{"meta":{"type":"range","key":"x","params":"1"}}`, offset: 43, msg: "meta.params: expected an object"},
	{name: "combined no params", in: `{"meta":{"type":"combined"}}`, offset: 8, msg: "meta: missing params"},
	{name: "combined bad relation", in: `{"meta":{"type":"combined","relation":"XOR","params":[]}}`, offset: 38, msg: `meta.relation: invalid relation "XOR"`},
	{name: "combined bad inner", in: `{"meta":{"type":"combined","params":[3]}}`, offset: 37, msg: "meta.params[0]: expected a filter pill object"},
	{name: "bad query", in: `{"meta":{},"query":{"range":{"x":"y"}}}`, offset: 33, msg: "query.range.x: expected an object"},
	{name: "old style bad query", in: `{"meta":{},"exists":{"field":1}}`, offset: 29, msg: "exists.field: expected a string"},
	{name: "invalid utf8", in: "{\"meta\":{\"alias\":\"\xff\"},\"query\":{\"match_all\":{}}}", offset: 18, msg: "meta.alias: invalid JSON: invalid UTF-8", is: ast.ErrInvalidUTF8},
}

func TestParseFilterErrors(t *testing.T) {
	for _, tc := range filterErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFilter([]byte(tc.in))
			checkError(t, tc, err)
		})
	}
}

func TestParseFiltersErrors(t *testing.T) {
	tests := []errorCase{
		{name: "not an array", in: `{"meta":{}}`, offset: 0, msg: "expected an array of filter pills, found an object"},
		{name: "element string", in: `[{"query":{"match_all":{}}}, "x"]`, offset: 29, msg: "[1]: expected a filter pill object, found a string"},
		{
			name:   "second pill",
			in:     `[{"query":{"match_all":{}}},{"meta":{"negate":true},"query":{"bool":{"must":[{"term":{}}]}}}]`,
			offset: 85,
			msg:    "[1].query.bool.must[0].term: the term query names no field",
		},
		{name: "truncated", in: `[{"query":{"match_all":{}}},`, offset: 28, msg: "[1]: invalid JSON: unexpected end of input"},
		{name: "deep", in: strings.Repeat("[", 10000), offset: 4*ast.MaxDepth + 16, msg: "nested deeper", is: ast.ErrTooDeep},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFilters([]byte(tc.in))
			checkError(t, tc, err)
		})
	}
}

func TestParseFilterDepth(t *testing.T) {
	const levels = 10000
	combined := strings.Repeat(`{"meta":{"type":"combined","params":[`, levels) + strings.Repeat("]}}", levels)
	bools := `{"meta":{},"query":` + strings.Repeat(`{"bool":{"must":`, 150) + `{"match_all":{}}` + strings.Repeat("}}", 150) + "}"
	for name, in := range map[string]string{"combined": combined, "bool": bools} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseFilter([]byte(in))
			if err == nil || !strings.Contains(err.Error(), "nested") {
				t.Fatalf("got %v, want a nesting error", err)
			}
			if !errors.Is(err, ast.ErrTooDeep) {
				t.Errorf("error does not wrap ast.ErrTooDeep: %v", err)
			}
		})
	}
}
