// Inlined by web/build.mjs (esbuild `define`).
declare const MAIN_JOB_CONFIG: import('./session.js').MainJobConfig;
