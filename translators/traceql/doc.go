// Package traceql turns Jaeger trace searches into TraceQL queries and Tempo
// search parameters.
//
// ParseSearch reads a search as Jaeger's clients write it: a Jaeger UI /search
// URL, an /api/traces URL, or a bare query string. ParseTags reads the tags
// alone, as JSON ({"error":"true"}) or as the logfmt that the Jaeger UI and
// Grafana's Jaeger query editor take (error=true http.url="/a b"). Render
// turns a Search into one spanset filter and the Tempo search parameters that
// TraceQL does not carry (start, end, limit, spss), with a fidelity grade and
// the reasons behind it.
//
// Jaeger matches a trace when one span satisfies the service, the operation,
// every tag and both duration bounds together, so everything goes into one
// spanset: { resource.service.name = "a" && name = "b" && duration >= 1s }.
// The main choices:
//
//   - Tags compare the unscoped attribute .key by default, which TraceQL
//     evaluates against span and resource attributes, as Jaeger searches span
//     and process tags. Options.Scope narrows this to span. or resource.
//     Jaeger also searches span log fields; those became span events, which
//     .key does not reach, unless Options.Events adds event.key.
//   - Jaeger compares tag values as text, so a value that is the text form of
//     an integer, a float or a boolean also matches typed attributes:
//     (.code = 503 || .code = "503").
//   - error=true becomes status = error. The OpenTelemetry Jaeger translator
//     turns a boolean error tag into the span status and drops the tag, which
//     makes this exact for data migrated through it when clients wrote error
//     as a boolean, as Jaeger's clients do. Options.ErrorAttribute also matches
//     spans that kept an error attribute (a string "true" tag, which the
//     translator leaves alone, or spans sent over OTLP with an error
//     attribute). error=false becomes status != error.
//   - Tags that the translator turns into span fields become those fields:
//     span.kind becomes kind, otel.status_code becomes status,
//     otel.scope.name becomes instrumentation:name, and so on.
//   - The time window and the limit become Tempo search parameters. Both are
//     approximate, because Tempo selects whole traces that overlap its window
//     and returns the traces it finds first, unless the query requests the
//     most recent ones with (most_recent=true), which Render adds.
//
// Nothing here touches the network.
package traceql
