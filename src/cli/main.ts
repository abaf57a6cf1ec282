#!/usr/bin/env node
/**
 * The `ghmdet` command line: one file per command under src/cli/, dispatched by name here.
 * Each command module exports `run(argv: string[]): Promise<number>` (the exit code) and a `summary`.
 */
interface CommandModule {
  summary: string;
  run(argv: string[]): Promise<number>;
}

const commands: Record<string, () => Promise<CommandModule>> = {
  demo: () => import('./demo.js'),
  train: () => import('./train.js'),
  predict: () => import('./predict.js'),
  data: () => import('./data.js'),
  conformance: () => import('./conformance.js'),
  eval: () => import('./eval.js'),
  report: () => import('./report.js'),
  analyze: () => import('./analyze.js'),
  experiment: () => import('./experiment.js'),
};

function usage(): string {
  const lines = [
    'usage: ghmdet <command> [options]   (ghmdet <command> --help for its options)',
    '',
    'commands:',
  ];
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const lines = [usage()];
    for (const [k, load] of Object.entries(commands))
      lines.push(`  ${k.padEnd(12)} ${(await load()).summary}`);
    console.log(lines.join('\n'));
    return name === undefined ? 1 : 0;
  }
  const load = commands[name];
  if (load === undefined) {
    console.error(
      `ghmdet: unknown command ${JSON.stringify(name)}; known commands: ${Object.keys(commands).join(', ')}`,
    );
    return 2;
  }
  const mod = await load();
  return mod.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`ghmdet: ${err instanceof Error ? err.message : String(err)}`);
    if (process.env['GHMDET_DEBUG']) console.error(err);
    process.exitCode = 1;
  },
);
