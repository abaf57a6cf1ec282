/** Sends what the worker prints with console.log / console.info to the page, one message per line. */
const send = (...args: unknown[]) => postMessage({ type: 'line', text: args.map(String).join(' ') });
console.log = send;
console.info = send;
self.addEventListener('unhandledrejection', (e) => postMessage({ type: 'error', message: String(e.reason) }));
