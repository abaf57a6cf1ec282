/**
 * Makes the small trained detector that the browser tests load over http and run on a dropped image
 * (test/fixtures/shapes-model/: model.json + weights.bin, TF.js weights manifest + ghmdet config): the
 * playground's training session with the main job's net cut to a third of its width, focal loss, trained on
 * the in-memory shapes on the wasm backend. Deterministic for a given backend; five to ten minutes.
 *   npx tsx scripts/make-model-fixture.ts [--steps 4000] [--lr 0.03] [--out test/fixtures/shapes-model]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { setupBackend, saveRetinaNet } from 'ghmdet';
import { TrainingSession, type MainJobConfig } from '../web/src/session.js';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '4000' },
    lr: { type: 'string', default: '0.03' },
    out: { type: 'string', default: 'test/fixtures/shapes-model' },
  },
});
const steps = Number(values.steps);
const main = JSON.parse(
  readFileSync(new URL('../configs/shapes_ghmc_ghmr.json', import.meta.url), 'utf8'),
) as MainJobConfig;
const model = main.model as Record<string, Record<string, unknown>>;
const config: MainJobConfig = {
  ...main,
  model: {
    ...main.model,
    backbone: { ...model['backbone'], stemChannels: 8, widths: [8, 16, 24] },
    neck: { ...model['neck'], outChannels: 16 },
    head: { ...main.model.head, featChannels: 16 },
  },
};
await setupBackend({ backend: 'wasm', log: console.log });
const session = new TrainingSession({ config, clsLoss: 'focal', batchSize: 8, lr: Number(values.lr) });
console.log(`${session.model.numParameters()} parameters, ${steps} steps`);
const t0 = performance.now();
let mean = 0;
for (let i = 0; i < steps; i++) {
  const s = session.step();
  mean += s.loss;
  if ((i + 1) % 100 === 0) {
    console.log(
      `step ${i + 1}: mean loss ${(mean / 100).toFixed(3)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
    );
    mean = 0;
  }
}
const val = [0, 1, 2, 3].map((i) => session.validationImage(i));
session
  .detect(val, 3)
  .forEach((dets, i) =>
    console.log(
      `val ${i}: ${val[i]!.objects.length} objects; best ${dets.map((d) => `${d.class} ${d.score.toFixed(2)}`).join(', ')}`,
    ),
  );
await saveRetinaNet(session.model, values.out);
console.log(`saved ${values.out}`);
session.dispose();
