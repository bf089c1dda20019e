// Checks LogQL and TraceQL queries with Grafana's lezer grammars.
//
// Input on stdin: one JSON object per line, {"id": "...", "lang": "logql" | "traceql",
// "query": "..."}. Output on stdout: one JSON object per input line, in input order:
// {"id", "ok", "errors": [{"from", "to", "context", "message"}], "tree", "interpolated"?}.
// "from" and "to" are UTF-8 byte offsets into the interpolated query, and
// "interpolated" is present only when interpolation changed the query. A line that
// cannot be checked at all (invalid JSON, unknown language) gets "ok": false and an
// "error" message instead of "errors".
//
// Lezer never throws on bad input. It recovers by inserting error nodes, so a query
// is valid only when its tree has no node whose type is an error. The LogQL grammar
// does not check escape sequences, but Loki and Tempo decode double-quoted strings
// with Go's unquoting rules and reject the query when that fails, so this script
// applies those rules to every String node as well. Loki's lexer
// (pkg/logql/syntax/lex.go) uses Prometheus' strutil.Unquote, which accepts \u
// escapes of UTF-16 surrogates, and Tempo's (pkg/traceql/lexer.go) uses Go's
// strconv.Unquote, which rejects them.

import { createInterface } from 'node:readline';
import { parser as logqlParser } from '@grafana/lezer-logql';
import { parser as traceqlParser } from '@grafana/lezer-traceql';

const parsers = { logql: logqlParser, traceql: traceqlParser };

// Sample values for Grafana's built-in time variables, as a dashboard with a 1h time
// range and a 1m interval would produce them.
const builtinSamples = {
  __auto: '1m',
  __interval: '1m',
  __interval_ms: '60000',
  __rate_interval: '1m',
  __range: '1h',
  __range_s: '3600',
  __range_ms: '3600000',
  __from: '1700000000000',
  __to: '1700003600000',
};

// Any other variable becomes this word. It needs no quoting or escaping, so a
// variable inside a string literal stays a valid string.
const variableSample = 'value';

// Matches Grafana's three variable syntaxes: ${name} with an optional .path or
// :format, [[name]] with an optional :format, and $name. A name must start with a
// letter or an underscore so that regex back-references such as "$1" in
// label_replace are kept.
const variablePattern =
  /\$\{([A-Za-z_]\w*)(?:\.[^:}]*)?(?::[^}]*)?\}|\[\[([A-Za-z_]\w*)(?::[^\]]*)?\]\]|\$([A-Za-z_]\w*)/g;

const maxErrors = 20;
const contextChars = 24;

function interpolate(query) {
  return query.replace(variablePattern, (match, braced, bracketed, bare) => {
    const name = braced ?? bracketed ?? bare;
    return builtinSamples[name] ?? variableSample;
  });
}

function byteOffset(text, index) {
  return Buffer.byteLength(text.slice(0, index), 'utf8');
}

// Shows the text around an error, with the erroneous range between ⟦ and ⟧.
function errorContext(text, from, to) {
  const start = Math.max(0, from - contextChars);
  const end = Math.min(text.length, to + contextChars);
  const before = (start > 0 ? '…' : '') + text.slice(start, from);
  const after = text.slice(to, end) + (end < text.length ? '…' : '');
  return `${before}⟦${text.slice(from, to)}⟧${after}`;
}

const simpleEscapes = 'abfnrtv\\"';

// Returns the length of the escape sequence that starts with the backslash at
// literal[i], or 0 when Go's unquoting rules reject it.
function escapeLength(literal, i, allowSurrogates) {
  const kind = literal[i + 1];
  if (kind !== undefined && simpleEscapes.includes(kind)) {
    return 2;
  }
  const hexDigits = { x: 2, u: 4, U: 8 }[kind];
  if (hexDigits !== undefined) {
    const digits = literal.slice(i + 2, i + 2 + hexDigits);
    if (!new RegExp(`^[0-9A-Fa-f]{${hexDigits}}$`).test(digits)) {
      return 0;
    }
    const value = parseInt(digits, 16);
    const isSurrogate = value >= 0xd800 && value <= 0xdfff;
    if (kind !== 'x' && ((isSurrogate && !allowSurrogates) || value > 0x10ffff)) {
      return 0;
    }
    return 2 + hexDigits;
  }
  const octal = literal.slice(i + 1, i + 4);
  if (/^[0-7]{3}$/.test(octal) && parseInt(octal, 8) <= 0xff) {
    return 4;
  }
  return 0;
}

// Finds the first part of a double-quoted literal that Go's unquoting rejects: an
// invalid escape sequence or a raw line break.
function findInvalidEscape(literal, allowSurrogates) {
  for (let i = 1; i < literal.length - 1; i++) {
    if (literal[i] === '\n') {
      return { index: i, length: 1, message: 'line break inside a double-quoted string' };
    }
    if (literal[i] !== '\\') {
      continue;
    }
    const length = escapeLength(literal, i, allowSurrogates);
    if (length === 0) {
      const sequence = literal.slice(i, i + 2);
      return { index: i, length: sequence.length, message: `invalid escape sequence ${sequence} in a double-quoted string` };
    }
    i += length - 1;
  }
  return null;
}

function collectErrors(tree, text, lang) {
  const errors = [];
  const seen = new Set();
  const add = (from, to, message) => {
    const key = `${from}:${to}`;
    if (errors.length >= maxErrors || seen.has(key)) {
      return;
    }
    seen.add(key);
    errors.push({
      from: byteOffset(text, from),
      to: byteOffset(text, to),
      context: errorContext(text, from, to),
      message,
    });
  };

  tree.iterate({
    enter(node) {
      if (node.type.isError) {
        add(node.from, node.to, 'syntax error');
        return;
      }
      if (node.name !== 'String' || text[node.from] !== '"') {
        return;
      }
      const invalid = findInvalidEscape(text.slice(node.from, node.to), lang === 'logql');
      if (invalid !== null) {
        const from = node.from + invalid.index;
        add(from, from + invalid.length, invalid.message);
      }
    },
  });
  return errors;
}

function checkQuery(input) {
  const id = typeof input.id === 'string' ? input.id : '';
  const parser = Object.hasOwn(parsers, input.lang) ? parsers[input.lang] : undefined;
  if (parser === undefined) {
    return { id, ok: false, error: `unknown lang ${JSON.stringify(input.lang)}: use "logql" or "traceql"` };
  }
  if (typeof input.query !== 'string') {
    return { id, ok: false, error: 'missing "query": it must be a string' };
  }

  const text = interpolate(input.query);
  const result = { id, ok: true, errors: [] };
  if (text !== input.query) {
    result.interpolated = text;
  }
  if (text.trim() === '') {
    result.ok = false;
    result.errors.push({ from: 0, to: byteOffset(text, text.length), context: errorContext(text, 0, text.length), message: 'empty query' });
    return result;
  }

  const tree = parser.parse(text);
  result.errors = collectErrors(tree, text, input.lang);
  result.ok = result.errors.length === 0;
  result.tree = tree.toString();
  return result;
}

function checkLine(line) {
  let input;
  try {
    input = JSON.parse(line);
  } catch (err) {
    return { id: '', ok: false, error: `invalid JSON input line: ${err.message}` };
  }
  if (input === null || typeof input !== 'object') {
    return { id: '', ok: false, error: 'invalid input line: expected a JSON object' };
  }
  return checkQuery(input);
}

async function main() {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') {
      continue;
    }
    process.stdout.write(JSON.stringify(checkLine(line)) + '\n');
  }
}

await main();
