/**
 * docs/config.md lists every key of the config file: each key of the zod schemas that validate a config
 * (src/config.ts, src/detector/config.ts, src/losses/build.ts) is named in the page's section for it, so a key
 * added to a schema without its line in the page fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type * as z from 'zod';
import { dataConfigSchema, evalConfigSchema, trainConfigSchema } from '../../src/config.js';
import { retinaNetConfigSchema } from '../../src/detector/config.js';
import { lossConfigSchema } from '../../src/losses/build.js';

interface SchemaDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  options?: z.ZodType[];
}
const defOf = (s: z.ZodType) => (s as unknown as { _zod: { def: SchemaDef } })._zod.def;

/** The key paths of an object schema, through defaults, optionals, nullables and unions: `optimizer.lr`, ... */
function keyPaths(schema: z.ZodType, prefix = ''): string[] {
  let def = defOf(schema);
  while (def.innerType !== undefined && ['default', 'prefault', 'optional', 'nullable'].includes(def.type))
    def = defOf(def.innerType);
  if (def.type === 'union') return [...new Set((def.options ?? []).flatMap((o) => keyPaths(o, prefix)))];
  if (def.type !== 'object' || def.shape === undefined) return [];
  return Object.entries(def.shape).flatMap(([key, value]) => {
    const path = prefix + key;
    const nested = keyPaths(value, path + '.');
    return nested.length > 0 ? nested : [path];
  });
}

const PAGE = readFileSync('docs/config.md', 'utf8');

/** The page's `## heading` section (up to the next `## `). */
function section(heading: string): string {
  const start = PAGE.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `docs/config.md has a section "## ${heading}"`);
  const end = PAGE.indexOf('\n## ', start + 1);
  return PAGE.slice(start, end < 0 ? undefined : end);
}

/** Whether the text names the key as code: `key`, or a dotted path ending in it (`head.assigner.key`). */
const names = (text: string, key: string) => new RegExp('`([\\w.]*\\.)?' + key + '`').test(text);

test('docs/config.md names every key of the config schemas in its section', () => {
  const sections: [string, z.ZodType][] = [
    ['`data`', dataConfigSchema],
    ['`train`', trainConfigSchema],
    ['`eval`', evalConfigSchema],
    ['`model`', retinaNetConfigSchema],
  ];
  for (const [heading, schema] of sections) {
    const text = section(heading);
    const paths = keyPaths(schema);
    assert.ok(paths.length >= 3, `${heading}: the schema walk found ${paths.length} keys`);
    for (const path of paths) {
      // a nested path is named whole, or by its last key in a row of its parent's keys
      const key = path.split('.').at(-1)!;
      assert.ok(names(text, path) || names(text, key), `docs/config.md, ${heading}: no \`${path}\``);
    }
  }
  const losses = section('`model`');
  for (const option of defOf(lossConfigSchema).options ?? []) {
    const [type, ...keys] = keyPaths(option);
    const literal = (defOf(defOf(option).shape!['type']!) as { values?: string[] }).values?.[0];
    assert.ok(literal !== undefined && names(losses, literal), `no loss type \`${literal}\``);
    for (const key of [type, ...keys].filter((k) => k !== 'type' && k !== 'loss_weight'))
      assert.ok(names(losses, key!), `docs/config.md: loss ${literal} has no \`${key}\``);
  }
});
