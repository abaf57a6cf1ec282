/**
 * The screenshot of the playground in docs/ (docs/playground.png): trains GHM-C in the page for a few hundred
 * steps, drops a validation shapes image on the saved model (test/fixtures/shapes-model unless --model), runs
 * the library example, then saves the page as a palette PNG.
 *   npx tsx scripts/playground-screenshot.ts [--iterations 300] [--model URL] [--out docs/playground.png]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { renderSplitImage, resolveShapesOptions } from 'ghmdet/detector';
import { findChromium, launchChromium, missingBrowserNote } from '../test/browser/chromium.js';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '300' },
    model: { type: 'string', default: '/fixtures/shapes-model/model.json' },
    out: { type: 'string', default: 'docs/playground.png' },
  },
});
const ROOT = new URL('..', import.meta.url).pathname;
const executable = findChromium();
if (executable === null) throw new Error(missingBrowserNote());
const { buildWeb } = (await import(join(ROOT, 'web/build.mjs'))) as { buildWeb: () => Promise<unknown> };
const { startServer } = (await import(join(ROOT, 'web/server.mjs'))) as {
  startServer: (o: object) => Promise<{ url: string; close: () => Promise<void> }>;
};
await buildWeb();
const server = await startServer({ mounts: { '/fixtures/': join(ROOT, 'test/fixtures') } });
const browser = await launchChromium(executable);
try {
  const page = await browser.newPage({ viewport: { width: 1240, height: 900 } });
  const state = () =>
    page.evaluate(
      () => (window as unknown as { ghmdetPlayground: Record<string, unknown> }).ghmdetPlayground,
    );
  await page.goto(
    `${server.url}?loss=GHM-C&backend=wasm&iterations=${values.iterations}&autostart=1&minScore=0.3&model=${values.model}`,
  );
  await page.waitForFunction(
    () => (window as unknown as { ghmdetPlayground: { done: boolean } }).ghmdetPlayground.done,
    undefined,
    {
      timeout: 900_000,
      polling: 1000,
    },
  );
  const shapes = resolveShapesOptions({
    size: 64,
    minObjectSize: 0.2,
    maxObjectSize: 0.6,
    maxDistractors: 1,
  });
  const image = renderSplitImage(shapes, 'val', 10);
  const png = await sharp(image.pixels, { raw: { width: 64, height: 64, channels: 3 } })
    .resize(192, 192, { kernel: 'nearest' })
    .png()
    .toBuffer();
  const dataTransfer = await page.evaluateHandle((b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], 'shapes.png', { type: 'image/png' }));
    return dt;
  }, png.toString('base64'));
  await page.dispatchEvent('#drop', 'drop', { dataTransfer });
  await page.click('#runExample');
  await page.waitForFunction(
    () => (window as unknown as { ghmdetPlayground: { exampleDone: boolean } }).ghmdetPlayground.exampleDone,
    undefined,
    {
      timeout: 120_000,
    },
  );
  const s = await state();
  if ((s['errors'] as string[]).length > 0)
    throw new Error(`page errors: ${(s['errors'] as string[]).join('; ')}`);
  const shot = await page.screenshot({ fullPage: true });
  await sharp(shot).png({ palette: true, colours: 128, compressionLevel: 9 }).toFile(values.out);
  console.log(
    `${values.out}: iteration ${s['iteration']}, ${(s['imagesPerSecond'] as number).toFixed(1)} images/s`,
  );
} finally {
  await browser.close();
  await server.close();
}
