// Parses Mermaid diagrams with Mermaid's own parser.
//
// Input on stdin: one JSON array of strings, each the text of one diagram (the
// inside of a ```mermaid block). Output on stdout: one JSON array with one object
// per input diagram, in input order: {"ok": true, "type": "xychart"} when the
// diagram parses, {"ok": false, "error": "..."} with Mermaid's message when it
// does not. Input that is not a JSON array of strings makes the script exit with
// status 2 and a message on stderr.
//
// Mermaid's parser needs a DOM even for parsing: it loads DOMPurify and reads
// window and document while it initializes. jsdom provides them.

import { JSDOM } from 'jsdom';

const dom = new JSDOM('<!doctype html><html><body></body></html>', { pretendToBeVisual: true });
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: createDOMPurify } = await import('dompurify');
globalThis.DOMPurify = createDOMPurify(dom.window);
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' });

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function fail(message) {
  process.stderr.write(`check.mjs: ${message}\n`);
  process.exit(2);
}

let blocks;
try {
  blocks = JSON.parse(await readStdin());
} catch (err) {
  fail(`stdin is not JSON: ${err.message}; send a JSON array of diagram texts`);
}
if (!Array.isArray(blocks) || blocks.some((b) => typeof b !== 'string')) {
  fail('stdin must be a JSON array of strings, one diagram text each');
}

const results = [];
for (const text of blocks) {
  try {
    const parsed = await mermaid.parse(text);
    results.push({ ok: true, type: parsed.diagramType });
  } catch (err) {
    results.push({ ok: false, error: String(err?.message ?? err) });
  }
}
process.stdout.write(JSON.stringify(results) + '\n');
