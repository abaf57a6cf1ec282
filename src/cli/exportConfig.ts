/**
 * `ghmdet export-config --to mmdet CONFIG [--out FILE] [--gpus N]`: writes a ghmdet config as an mmdetection v2
 * Python config (src/interop/mmdetConfig.ts), to train the same experiment with mmdetection's distributed
 * launcher. What mmdetection cannot express is refused with the reason; what it computes differently is printed
 * on stderr and written as comments at the top of the file.
 */
import { EXIT, Option, action, integer, newCommand, required, runCommand, type Command } from './command.js';

interface ExportFlags {
  to: 'mmdet';
  out?: string;
  gpus: number;
}

export function command(): Command {
  const cmd = newCommand('export-config', {
    summary: "write a config as another framework's config (mmdetection v2), to train it there",
    usage: '--to mmdet CONFIG [options]',
    details:
      'data.batch_size is the whole batch: samples_per_gpu = batch_size / --gpus, so ' +
      "mmdetection's tools/dist_train.sh CONFIG GPUS trains with the same batch and learning rate.",
  })
    .argument('<CONFIG>', 'the ghmdet config file (JSON)')
    .addOption(
      required(new Option('--to <NAME>', 'the framework: mmdet (mmdetection v2)').choices(['mmdet'])),
    )
    .addOption(new Option('--out <FILE>', 'the Python config to write (default: stdout)'))
    .addOption(new Option('--gpus <N>', 'GPUs the config is written for').argParser(integer(1)).default(1));
  return action<ExportFlags>(cmd, exportConfig);
}

export const run = (argv: readonly string[]): Promise<number> => runCommand(command(), argv);

async function exportConfig(flags: ExportFlags, args: string[]): Promise<number> {
  const { writeFile } = await import('node:fs/promises');
  const { basename } = await import('node:path');
  const { loadConfigFile } = await import('../config.js');
  const { mmdetConfigText } = await import('../interop/mmdetConfig.js');
  const configFile = args[0]!;
  const config = await loadConfigFile(configFile);
  const { text, notes } = mmdetConfigText(config, { gpus: flags.gpus, source: basename(configFile) });
  for (const n of notes) process.stderr.write(`note: ${n}\n`);
  if (flags.out === undefined) process.stdout.write(text);
  else {
    await writeFile(flags.out, text);
    process.stderr.write(`wrote ${flags.out} (mmdetection v2 config for ${flags.gpus} GPU(s))\n`);
  }
  return EXIT.ok;
}
