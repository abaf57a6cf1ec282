/**
 * `ghmdet report RUN_DIR... --out report.html [--svg-dir DIR]`: one self-contained HTML report (inline SVG
 * figures and CSS) of one or more run folders (layout in src/analysis/runFiles.ts); with `--svg-dir`, every
 * figure also as its own SVG file.
 */
import { writeReport } from '../analysis/report.js';
import { parseArgs, stringFlag, helpText, type FlagSpec } from './args.js';

export const summary = 'write an HTML report (config, final COCO stats, figures) of run folders';

const spec: Record<string, FlagSpec> = {
  out: { type: 'string', description: 'output HTML file (default: report.html)' },
  title: { type: 'string', description: 'page title (default: from the run names)' },
  'svg-dir': { type: 'string', description: 'also write every figure as an SVG file into this folder' },
  help: { type: 'boolean', description: 'show this help' },
};

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs('report', argv, spec);
  if (args.flags['help']) {
    console.log(
      `${helpText('report', summary, spec)}\n\nusage: ghmdet report RUN_DIR... [--out report.html]`,
    );
    return 0;
  }
  if (args.positionals.length === 0) {
    console.error(
      'report: expected at least one run folder, got none; usage: ghmdet report RUN_DIR... --out FILE',
    );
    return 2;
  }
  const out = stringFlag(args, 'out') ?? 'report.html';
  const title = stringFlag(args, 'title');
  const svgDir = stringFlag(args, 'svg-dir');
  const html = await writeReport(args.positionals, out, {
    ...(title === undefined ? {} : { title }),
    ...(svgDir === undefined ? {} : { svgDir }),
  });
  const figures = html.split('<figure').length - 1;
  console.log(
    `report: wrote ${out} (${args.positionals.length} run(s), ${figures} figures, ${html.length} bytes)`,
  );
  return 0;
}
