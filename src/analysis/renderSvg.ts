/**
 * Renders a Vega-Lite spec to an SVG string in Node: Vega-Lite -> Vega -> a headless `vega.View`
 * (renderer 'none', no canvas, no network: every spec built here carries its data inline).
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** The SVG markup of `spec` (a standalone `<svg ...>...</svg>` element with a white background). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
