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
