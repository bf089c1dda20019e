package kibana_test

import (
	"strings"
	"testing"

	"github.com/obs-migrate/migrate/translators/kibana"
)

const goodSearch = `{"id":"good-1","type":"search","attributes":{"title":"Errors","columns":["message"],"kibanaSavedObjectMeta":{"searchSourceJSON":"{\"query\":{\"query\":\"log.level:error\",\"language\":\"kuery\"},\"filter\":[]}"}},"references":[]}`

// TestMalformedInput checks that each kind of bad input gets an error that
// names its file and object, and that the rest of the batch still converts.
func TestMalformedInput(t *testing.T) {
	deep := strings.Repeat("(", 10000) + "a" + strings.Repeat(")", 10000)
	cases := []struct {
		name string
		file string
		data string
		// want are substrings of one failed item's error.
		want []string
	}{
		{
			name: "truncated ndjson",
			file: "truncated.ndjson",
			data: goodSearch + "\n" + `{"id":"cut-2","type":"visualization","attributes":{"title":"Cut","visState":"{\"type\":\"pie\"`,
			want: []string{"truncated.ndjson:2", "cut-2", "invalid JSON"},
		},
		{
			name: "unknown type",
			file: "unknown.ndjson",
			data: goodSearch + "\n" + `{"id":"odd-3","type":"holo-deck","attributes":{"title":"Odd"},"references":[]}`,
			want: []string{"unknown.ndjson:2", "holo-deck odd-3", `unknown saved object type "holo-deck"`},
		},
		{
			name: "visState not JSON",
			file: "badvis.ndjson",
			data: goodSearch + "\n" + `{"id":"vis-4","type":"visualization","attributes":{"title":"Broken","visState":"{not json","kibanaSavedObjectMeta":{"searchSourceJSON":"{}"}},"references":[]}`,
			want: []string{"badvis.ndjson:2", "visualization vis-4", "visState is not valid JSON"},
		},
		{
			name: "query nested 10000 deep",
			file: "deep.ndjson",
			data: goodSearch + "\n" + `{"id":"deep-5","type":"search","attributes":{"title":"Deep","columns":["message"],"kibanaSavedObjectMeta":{"searchSourceJSON":"{\"query\":{\"query\":\"` + deep + `\",\"language\":\"kuery\"}}"}},"references":[]}`,
			want: []string{"deep.ndjson:2", "search deep-5", "query", "nests more than 128 levels"},
		},
		{
			name: "invalid utf-8",
			file: "latin1.ndjson",
			data: goodSearch + "\n" + `{"id":"enc-6","type":"search","attributes":{"title":"Caf` + "\xe9" + `","columns":[]}}`,
			want: []string{"latin1.ndjson:2", "enc-6", "invalid UTF-8"},
		},
		{
			name: "invalid utf-8 in a json array",
			file: "latin1.json",
			data: `[` + goodSearch + `,` + `{"id":"enc-7","type":"search","attributes":{"title":"Caf` + "\xe9" + `","columns":[]}}]`,
			want: []string{"latin1.json:1", "enc-7", "invalid UTF-8"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := kibana.Convert([]kibana.Input{{File: tc.file, Data: []byte(tc.data)}}, kibana.Options{})
			var errs []string
			for _, it := range res.Report.Items {
				if it.Error != "" {
					errs = append(errs, it.Error)
				}
			}
			if !anyContainsAll(errs, tc.want) {
				t.Errorf("no item error contains all of %q; errors: %q", tc.want, errs)
			}
			if !converted(res, "good-1") {
				t.Errorf("the good search was not converted alongside the bad object")
			}
		})
	}
}

func TestUnreadableFile(t *testing.T) {
	res := kibana.Convert([]kibana.Input{
		{File: "empty.json", Data: []byte("  \n")},
		{File: "garbage.json", Data: []byte("not json at all")},
		{File: "good.ndjson", Data: []byte(goodSearch)},
	}, kibana.Options{})
	var errs []string
	for _, it := range res.Report.Items {
		if it.Status == kibana.StatusFailed {
			errs = append(errs, it.Error)
		}
	}
	if !anyContainsAll(errs, []string{"empty.json", "empty"}) || !anyContainsAll(errs, []string{"garbage.json", "invalid JSON"}) {
		t.Errorf("errors %q do not name both unreadable files", errs)
	}
	if !converted(res, "good-1") {
		t.Error("the good file was not converted")
	}
}

func anyContainsAll(list, subs []string) bool {
	for _, s := range list {
		ok := true
		for _, sub := range subs {
			if !strings.Contains(s, sub) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func converted(res *kibana.Result, id string) bool {
	for _, it := range res.Report.Items {
		if it.ID == id && it.Status != kibana.StatusFailed && it.Output != "" {
			return true
		}
	}
	return false
}

func TestReusedIDsResolveInTheirOwnFile(t *testing.T) {
	search := func(id, query string) string {
		return `{"id":"` + id + `","type":"search","attributes":{"title":"S ` + query + `","columns":[],"kibanaSavedObjectMeta":{"searchSourceJSON":"{\"query\":{\"query\":\"` + query + `\",\"language\":\"kuery\"}}"}},"references":[]}`
	}
	dash := `{"id":"d1","type":"dashboard","attributes":{"title":"D","panelsJSON":"[{\"panelRefName\":\"panel_0\",\"gridData\":{\"x\":0,\"y\":0,\"w\":24,\"h\":10}}]"},"references":[{"name":"panel_0","type":"search","id":"s1"}]}`
	res := kibana.Convert([]kibana.Input{
		{File: "a.ndjson", Data: []byte(search("s1", "service:a") + "\n" + dash)},
		{File: "b.ndjson", Data: []byte(search("s1", "service:b") + "\n" + strings.Replace(dash, `"title":"D"`, `"title":"D2"`, 1))},
	}, kibana.Options{})
	if len(res.Dashboards) != 2 || res.Dashboards[0].UID == res.Dashboards[1].UID {
		t.Fatalf("got %d dashboards; both must be written with distinct uids", len(res.Dashboards))
	}
	for i, want := range []string{"a", "b"} {
		other := map[string]string{"a": "b", "b": "a"}[want]
		got := string(res.Dashboards[i].JSON)
		if !strings.Contains(got, `\\b`+want+`\\b`) || strings.Contains(got, `\\b`+other+`\\b`) {
			t.Errorf("dashboard %d does not query its own file's search (service:%s):\n%s", i, want, got)
		}
	}

	same := search("s9", "x:1")
	res = kibana.Convert([]kibana.Input{{File: "a.ndjson", Data: []byte(same)}, {File: "b.ndjson", Data: []byte(same)}}, kibana.Options{})
	if len(res.Dashboards) != 1 || res.Report.Summary.ObjectsSkipped != 1 {
		t.Errorf("an identical copy: %d dashboards, %d skipped; want 1 and 1", len(res.Dashboards), res.Report.Summary.ObjectsSkipped)
	}
}

func TestAttributesMustBeAnObject(t *testing.T) {
	for _, attrs := range []string{`[1,2]`, `null`, `"text"`} {
		data := goodSearch + "\n" + `{"id":"bad-1","type":"dashboard","attributes":` + attrs + `}`
		res := kibana.Convert([]kibana.Input{{File: "x.ndjson", Data: []byte(data)}}, kibana.Options{})
		var errs []string
		for _, it := range res.Report.Items {
			errs = append(errs, it.Error)
		}
		if !anyContainsAll(errs, []string{"x.ndjson:2", "bad-1", "attributes is a JSON"}) {
			t.Errorf("attributes %s: errors %q", attrs, errs)
		}
		if res.Report.Summary.SourceDashboards != 0 {
			t.Errorf("attributes %s became a dashboard", attrs)
		}
	}
}

func TestTextPanelFenceHoldsBackticks(t *testing.T) {
	data := `{"id":"v1","type":"visualization","attributes":{"title":"V","visState":"{\"type\":\"vega\",\"params\":{\"spec\":\"{}\"}}","kibanaSavedObjectMeta":{"searchSourceJSON":"{\"query\":{\"query\":\"a:\\\"` + "```" + `<script>\\\"\",\"language\":\"kuery\"}}"}}}`
	res := kibana.Convert([]kibana.Input{{File: "v.ndjson", Data: []byte(data)}}, kibana.Options{})
	if len(res.Dashboards) != 1 {
		t.Fatalf("got %d dashboards", len(res.Dashboards))
	}
	if !strings.Contains(string(res.Dashboards[0].JSON), "````") {
		t.Error("the text panel does not fence the query with a longer fence than the backticks it holds")
	}
}
