package kibana

import (
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/logs"

	"github.com/obs-migrate/migrate/translators/fidelity"
)

// searchPanel turns a saved search into a logs panel.
func (p *panelCtx) searchPanel() convertedPanel {
	o := p.ref.obj
	source, err := sourceMeta(o.Attrs)
	if err != nil {
		return p.failed("search", err)
	}
	parts, disabled := searchSourceParts(source, "")
	p.c.report.addDisabled(o, disabled)
	schema := p.schemaFor(p.c.store.indexOf(o, source))
	q := p.logQuery(schema, owned(o, parts))
	if q == nil {
		return p.unsupported("search", "query_unsupported", "the saved search's query cannot be expressed in LogQL")
	}
	if cols := stringList(arr(o.Attrs, "columns")); len(cols) > 0 && !(len(cols) == 1 && cols[0] == "_source") {
		p.reasons.Addf(fidelity.Exact, "columns_shown_as_fields",
			"Kibana showed the columns %s; the logs panel shows each line with its labels and fields in the details", strings.Join(cols, ", "))
	}
	order := common.LogsSortOrderDescending
	if sortAscending(o.Attrs) {
		order = common.LogsSortOrderAscending
	}
	b := logs.NewPanelBuilder().
		Datasource(p.c.lokiRef()).
		WithTarget(p.target(q.String(), "", false)).
		ShowTime(true).
		WrapLogMessage(true).
		EnableLogDetails(true).
		SortOrder(order)
	return p.build("search", b)
}

// owned pairs parts with the object they belong to.
func owned(o *Object, parts []queryPart) []ownedPart {
	out := make([]ownedPart, len(parts))
	for i, part := range parts {
		out[i] = ownedPart{owner: o, part: part}
	}
	return out
}

func stringList(list []any) []string {
	out := make([]string, 0, len(list))
	for _, v := range list {
		if s, ok := v.(string); ok {
			out = append(out, s)
		} else {
			out = append(out, fmt.Sprint(v))
		}
	}
	return out
}

// sortAscending reads a saved search's sort: ["@timestamp","asc"] or
// [["@timestamp","asc"]].
func sortAscending(attrs map[string]any) bool {
	s := arr(attrs, "sort")
	if len(s) == 0 {
		return false
	}
	if inner, ok := s[0].([]any); ok {
		s = inner
	}
	return len(s) >= 2 && fmt.Sprint(s[1]) == "asc"
}
