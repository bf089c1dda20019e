package traceql_test

import (
	"fmt"

	"github.com/obs-migrate/migrate/translators/traceql"
)

// A Grafana Jaeger data source target {queryType: "search", service,
// operation, tags, minDuration, maxDuration, limit} becomes a Search. Tags
// are logfmt there, and the dashboard's template variables stay variables.
func ExampleRender_grafanaTarget() {
	tags, err := traceql.ParseTags(`service.namespace="$service_namespace" http.status_code=500`)
	if err != nil {
		fmt.Println(err)
		return
	}
	search := traceql.Search{
		Form:        traceql.FormAPI, // Grafana sends the search to Jaeger's API
		Service:     "$service_name",
		Operation:   "",
		Tags:        tags,
		MinDuration: "1.2s",
		Limit:       20,
	}
	res := traceql.Render(search, traceql.Options{KeepVariables: true, DashboardTimeRange: true})

	fmt.Println(res.Query)
	fmt.Println(res.Fidelity, res.Tempo.Limit)
	for _, r := range res.Reasons {
		fmt.Println(r.Code)
	}
	// Output:
	// { resource.service.name = "$service_name" && .service.namespace = "$service_namespace" && (.http.status_code = 500 || .http.status_code = "500") && duration >= 1200ms } with (most_recent=true)
	// approximate 20
	// variable_value
	// typed_value
	// tag_scope
	// log_fields
	// time_window
	// limit
	// duration_with_tags
}
