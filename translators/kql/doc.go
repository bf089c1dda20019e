// Package kql parses Kibana Query Language (KQL) into the shared query tree.
//
// The grammar follows Kibana's query bar. NOT binds tighter than AND, which
// binds tighter than OR. An unquoted value runs over spaces up to a special
// character or a keyword, so `message:hello world` is one value. Quoted
// values are phrases, and an unescaped `*` in an unquoted value is a
// wildcard. `field:(a or b)` lists values for one field, `items:{ … }` is a
// nested query, and `<`, `<=`, `>` and `>=` compare a field with a value.
//
// The parser is stricter than Kibana where Kibana reads odd input in a
// surprising way: it rejects `and` or `or` with nothing on one side, and a
// keyword at the start of a value, with a message that shows how to write the
// intended query. It is more lenient in two places: `not not a` is accepted,
// and `not` inside a word (`cannot`) never ends a value.
package kql
