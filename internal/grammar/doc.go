// Package grammar checks LogQL and TraceQL strings with Grafana's own lezer
// grammars, @grafana/lezer-logql and @grafana/lezer-traceql, the parsers that
// Grafana's query editors use.
//
// The grammars are JavaScript, so Check runs tools/grammar/check.mjs under
// Node.js once per call and streams the queries to it. Before parsing, the
// script replaces Grafana's template variables ($__auto, $__interval,
// ${var}, $var, [[var]] and their variants) with sample values, the way
// Grafana interpolates a query before it runs. It also rejects string
// literals whose escape sequences Loki would reject, which the LogQL grammar
// alone accepts.
//
// The checker needs node on PATH and the packages in
// tools/grammar/node_modules, which "make test" or
// "npm ci --prefix tools/grammar" installs. Tests use the helpers in package
// grammartest.
package grammar
