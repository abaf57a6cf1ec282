/**
 * esbuild browser bundles of ghmdet's entry points, as an application's bundler would make them: the
 * package imported by name (resolved through its `exports` to dist/), `platform: 'browser'`, minified.
 */
import { build, type Metafile } from 'esbuild';
import { ROOT } from './dist.js';

export interface BundleResult {
  /** Bytes of the minified bundle. */
  bytes: number;
  /** Every input file of the bundle, relative to the repository root. */
  inputs: string[];
  /** The Node built-ins the bundle refers to (it fails to build on any it must include). */
  nodeBuiltins: string[];
}

/**
 * Bundles `import * as m from '<specifier>'` for a browser. `tfjsExternal`: leave the TF.js packages out, as
 * they are peer dependencies the application bundles once for itself; the size is then ghmdet's own code and
 * its dependencies.
 */
export async function bundleForBrowser(specifier: string, tfjsExternal: boolean): Promise<BundleResult> {
  const r = await build({
    stdin: {
      contents: `import * as m from '${specifier}'; globalThis.ghmdet = m;`,
      resolveDir: ROOT,
      loader: 'js',
    },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    minify: true,
    write: false,
    metafile: true,
    logLevel: 'silent',
    // Resolve the package as an application would (its exports), not through the repository's tsconfig paths.
    tsconfigRaw: '{}',
    external: tfjsExternal ? ['@tensorflow/*'] : [],
  });
  const meta: Metafile = r.metafile;
  const inputs = Object.keys(meta.inputs);
  const imports = Object.values(meta.inputs).flatMap((i) => i.imports.map((x) => x.path));
  return {
    bytes: r.outputFiles[0]!.contents.byteLength,
    inputs,
    nodeBuiltins: [
      ...new Set(
        imports.filter(
          (p) => p.startsWith('node:') || /^(fs|path|os|worker_threads|url|child_process)$/.test(p),
        ),
      ),
    ],
  };
}
