// Bundles the editor playground (playground/page/index.tsx and the plugin's own modules it
// imports from src/) into playground/dist/, with esbuild. Unlike the plugin's bundle nothing is
// external: there is no Grafana to provide React, @grafana/* or rxjs.
import { build } from 'esbuild';
import { copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

// @grafana/plugin-compat (used by @grafana/plugin-ui) imports @grafana/runtime functions that
// newer Grafana versions add, and checks at run time whether each one is there. Grafana provides
// @grafana/runtime to a plugin, so its webpack build never sees the import; esbuild bundles the
// 13.1 runtime and refuses a missing export. This gives plugin-compat that runtime plus the
// functions it lacks as undefined, which is what plugin-compat looks for.
const runtimeCompat = {
  name: 'runtime-compat',
  setup(b) {
    const compatDir = join(dirname(require.resolve('@grafana/plugin-compat/package.json')), 'dist', 'esm');
    const runtimeIndex = join(dirname(require.resolve('@grafana/runtime/package.json')), 'dist', 'esm', 'index.mjs');
    const runtimeText = readFileSync(runtimeIndex, 'utf8');
    const probed = new Set();
    const walk = (dir) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) {
          walk(p);
        } else if (p.endsWith('.mjs')) {
          for (const m of readFileSync(p, 'utf8').matchAll(/(\w+) as \1\$1/g)) {
            probed.add(m[1]);
          }
        }
      }
    };
    walk(compatDir);
    const missing = [...probed].filter((name) => !new RegExp(`\\b${name}\\b`).test(runtimeText));
    b.onResolve({ filter: /^@grafana\/runtime$/ }, (args) =>
      args.importer.includes(`${join('@grafana', 'plugin-compat')}`)
        ? { path: 'runtime', namespace: 'runtime-compat' }
        : undefined
    );
    b.onLoad({ filter: /.*/, namespace: 'runtime-compat' }, () => ({
      contents: [
        `export * from ${JSON.stringify(runtimeIndex)};`,
        ...missing.map((n) => `export const ${n} = undefined;`),
      ].join('\n'),
      resolveDir: here,
    }));
  },
};
const out = join(here, 'dist');
mkdirSync(out, { recursive: true });

await build({
  entryPoints: { playground: join(here, 'page', 'index.tsx') },
  outdir: out,
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'chrome120',
  jsx: 'automatic',
  minify: false,
  sourcemap: false,
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis' },
  plugins: [runtimeCompat],
  // Grafana's fonts (Inter, Roboto Mono) from @fontsource, so the screenshots look as in Grafana;
  // esbuild writes the CSS they come with to playground.css and the fonts beside it.
  loader: { '.svg': 'text', '.woff': 'file', '.woff2': 'file', '.ttf': 'empty', '.png': 'empty' },
  assetNames: '[name]',
});
copyFileSync(join(here, 'index.html'), join(out, 'index.html'));
copyFileSync(join(here, 'index.css'), join(out, 'page.css'));
// @grafana/ui's icons, where its Icon loads them from outside Grafana (public/build/img/icons/)
cpSync(
  join(dirname(require.resolve('@grafana/ui/package.json')), 'dist', 'public', 'img', 'icons'),
  join(out, 'public', 'build', 'img', 'icons'),
  { recursive: true }
);
console.log(`editor playground: built ${out}`);
