/**
 * `ghmdet report RUN_DIR... [--out FILE] [--title TEXT] [--svg-dir DIR]`: one self-contained HTML report (inline
 * SVG figures and CSS) of one or more run folders (layout in src/analysis/runFiles.ts); with `--svg-dir`, every
 * figure also as its own SVG file.
 */
import { EXIT, Option, action, newCommand, runCommand, type Command } from './command.js';

interface ReportFlags {
  out: string;
  title?: string;
  svgDir?: string;
}

export function command(): Command {
  const cmd = newCommand('report', {
    summary: 'write an HTML report (config, final COCO stats, figures) of run folders',
    usage: 'RUN_DIR... [options]',
  })
    .argument('<RUN_DIR...>', 'run folders written by ghmdet train (or experiment)')
    .addOption(new Option('--out <FILE>', 'output HTML file').default('report.html'))
    .addOption(new Option('--title <TEXT>', 'page title (default: from the run names)'))
    .addOption(new Option('--svg-dir <DIR>', 'also write every figure as an SVG file into this folder'));
  return action<ReportFlags>(cmd, report);
}

export const run = (argv: readonly string[]): Promise<number> => runCommand(command(), argv);

async function report(flags: ReportFlags, runDirs: string[]): Promise<number> {
  const { writeReport } = await import('../analysis/report.js');
  const html = await writeReport(runDirs, flags.out, {
    ...(flags.title === undefined ? {} : { title: flags.title }),
    ...(flags.svgDir === undefined ? {} : { svgDir: flags.svgDir }),
  });
  const figures = html.split('<figure').length - 1;
  console.log(
    `report: wrote ${flags.out} (${runDirs.length} run(s), ${figures} figures, ${html.length} bytes)`,
  );
  return EXIT.ok;
}
