import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bundleForBrowser } from './browserBundle.js';
import { ensureDistBuilt } from './dist.js';

for (const specifier of ['ghmdet/losses', 'ghmdet/detector']) {
  test(`esbuild bundles ${specifier} for a browser: no Node built-in, no sharp, no backend`, async () => {
    ensureDistBuilt();
    const own = await bundleForBrowser(specifier, true);
    assert.deepEqual(own.nodeBuiltins, []);
    assert.ok(
      own.inputs.some((f) => f.startsWith('dist/')),
      'the bundle holds ghmdet from dist/',
    );
    assert.deepEqual(
      own.inputs.filter((f) => /node_modules\/(sharp|@img|vega|fast-xml-parser)\//.test(f)),
      [],
      'Node-only or report dependencies were bundled',
    );
    // With TF.js inside too (what an application ships): still no Node built-in, and no backend package.
    const whole = await bundleForBrowser(specifier, false);
    assert.deepEqual(whole.nodeBuiltins, []);
    assert.ok(whole.inputs.some((f) => f.includes('node_modules/@tensorflow/tfjs-core/')));
    assert.deepEqual(
      whole.inputs.filter((f) => /@tensorflow\/tfjs-(backend-|converter|layers|data)/.test(f)),
      [],
      'a TF.js backend or the union package was bundled',
    );
    assert.ok(whole.bytes > own.bytes);
    console.log(
      `${specifier}: ${(own.bytes / 1024).toFixed(0)} kB minified without TF.js, ` +
        `${(whole.bytes / 1024).toFixed(0)} kB with @tensorflow/tfjs-core`,
    );
  });
}
