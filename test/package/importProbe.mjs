// Run in a fresh Node process by importProbe.test.ts: sets up TF.js as an application would, records the
// backend, the backend registry, every backend's kernels (by identity), the gradient registry and the flags,
// imports one of ghmdet's entry points through the package's own `exports` (self-reference, so dist/), uses
// it, and prints what changed as JSON on the last line of stdout.
//   node importProbe.mjs <setup: tfjs-cpu | core-wasm> <specifier: ghmdet/losses | ghmdet/detector | ghmdet>
const [setup, specifier] = process.argv.slice(2);
let tf;
if (setup === 'tfjs-cpu') {
  tf = await import('@tensorflow/tfjs');
  await tf.setBackend('cpu');
} else if (setup === 'core-wasm') {
  tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend('wasm');
} else {
  throw new Error(`unknown setup ${setup}`);
}
await tf.ready();

function snapshot() {
  const backends = Object.keys(tf.engine().registryFactory).sort();
  const kernels = new Map();
  for (const b of backends)
    for (const k of tf.getKernelsForBackend(b)) kernels.set(`${b}/${k.kernelName}`, k.kernelFunc);
  // tfjs-core keeps its gradient registry in a global map (pinned version 4.22.0).
  const grads = new Map(globalThis._tfGlobals?.get('gradRegistry') ?? []);
  return {
    backend: tf.getBackend(),
    backends,
    kernels,
    grads,
    flags: { ...tf.env().getFlags() },
    numTensors: tf.memory().numTensors,
  };
}

function diff(a, b) {
  const changes = [];
  if (a.backend !== b.backend) changes.push(`backend ${a.backend} -> ${b.backend}`);
  if (a.backends.join() !== b.backends.join()) changes.push(`backends [${a.backends}] -> [${b.backends}]`);
  for (const [name, before, after] of [
    ['kernel', a.kernels, b.kernels],
    ['gradient', a.grads, b.grads],
  ]) {
    for (const [k, f] of after) {
      if (!before.has(k)) changes.push(`${name} ${k} registered`);
      else if (before.get(k) !== f) changes.push(`${name} ${k} replaced`);
    }
    for (const k of before.keys()) if (!after.has(k)) changes.push(`${name} ${k} unregistered`);
  }
  // Flags are evaluated lazily: a flag first read later must hold its registered default, one read before
  // must keep its value.
  const registry = tf.env().flagRegistry;
  for (const [k, v] of Object.entries(b.flags)) {
    const was = k in a.flags ? a.flags[k] : registry[k]?.evaluationFn();
    if (was !== v) changes.push(`flag ${k} ${was} -> ${v}`);
  }
  if (a.numTensors !== b.numTensors) changes.push(`tensors ${a.numTensors} -> ${b.numTensors}`);
  return changes;
}

const before = snapshot();
const t0 = performance.now();
const m = await import(specifier);
const importMs = performance.now() - t0;
const afterImport = snapshot();

// Use it: GHM-C on [N, C] logits (from ghmdet/losses where the entry point has none), and a detector's
// detect() where exported.
const { GHMC } = m.GHMC !== undefined ? m : await import('ghmdet/losses');
const logits = tf.tensor2d([2, -1, 0.5, -3, 1, 0], [3, 2]);
const target = tf.tensor2d([1, 0, 0, 0, 0, 1], [3, 2]);
const loss = new GHMC({ bins: 10, momentum: 0.75 }).call(logits, target);
const lossValue = loss.dataSync()[0];
tf.dispose([logits, target, loss]);
let detections = null;
if (m.RetinaNet !== undefined) {
  const model = new m.RetinaNet({
    numClasses: 2,
    backbone: { stemChannels: 4, widths: [8, 8, 16, 16], blocks: [0, 1, 0, 1] },
    neck: { outChannels: 8 },
    head: { stackedConvs: 1, featChannels: 8 },
    preprocess: { img_scale: [64, 64] },
  });
  const image = { data: new Uint8Array(48 * 40 * 3).fill(128), width: 40, height: 48 };
  detections = (await model.detect(image, m.ALL_DETECTIONS)).length;
  model.dispose();
}
const afterUse = snapshot();
console.log(
  JSON.stringify({
    backend: before.backend,
    backends: before.backends,
    kernelCount: before.kernels.size,
    gradientCount: before.grads.size,
    importMs,
    exports: Object.keys(m).length,
    lossValue,
    detections,
    changedByImport: diff(before, afterImport),
    changedByUse: diff(before, afterUse),
  }),
);
