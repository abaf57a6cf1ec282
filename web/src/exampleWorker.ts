/**
 * Runs the library example (examples/losses-in-a-layers-model.mjs, bundled as written) in a worker and sends
 * each line it prints to the page. `captureConsole` is imported first, so it is in place when the example runs.
 */
import './captureConsole.js';
import '../../examples/losses-in-a-layers-model.mjs';

postMessage({ type: 'done' });
