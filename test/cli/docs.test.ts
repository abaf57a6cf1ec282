import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CLI_DOCS, renderCliDocs } from '../../scripts/cliDocs.js';

test('docs/cli.md is what the command definitions render (npm run docs:cli rewrites it)', async () => {
  const rendered = await renderCliDocs();
  assert.equal(readFileSync(CLI_DOCS, 'utf8'), rendered, 'docs/cli.md is out of date: run npm run docs:cli');
  assert.match(rendered, /^### ghmdet data shapes$/m);
  assert.match(rendered, /\| `ghmdet demo` +\| `--draw N` +\| `--num-drawn N` +\|/);
});
