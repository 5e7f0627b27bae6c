// The bundles the image runs (npm run build, after tsc):
//
//   dist/bundle/cli.cjs             src/ as one CommonJS file: what a start needs
//   dist/bundle/vendor/<pkg>.cjs    each third-party package src/ imports, alone
//
// Under the DaemonSet's 100m CPU every instruction before the first config
// is wall time x10. The packages are needed later or seldom (chokidar once
// the config is written, prom-client for /metrics, execa for
// --restart-crio, commander for --help and unusual argv, yaml for odd
// kubeconfig strings), so they sit in their own files and load on first
// import: V8 never reads their text at start, and the start's code cache
// holds only what a start runs. src/ imports them dynamically (a static
// import of a bundled package runs it when the importer loads).
//
// In cli.cjs, an import of `<pkg>` or `<pkg>/<path>` becomes
// `require("./vendor/<pkg>.cjs")["<specifier>"]`; the vendor file exports
// every specifier src/ uses, so one copy of each package is loaded.
// bin/multus-entrypoint.js loads both kinds with their V8 code caches
// (scripts/code-cache.cjs makes them).
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';

const VENDOR = ['chokidar', 'commander', 'execa', 'prom-client', 'yaml'];
const packageOf = (specifier) => VENDOR.find((p) => specifier === p || specifier.startsWith(`${p}/`));
const common = { bundle: true, platform: 'node', format: 'cjs', target: 'node22', minifyWhitespace: true, minifySyntax: true, logLevel: 'warning' };

/** Specifiers src/ imports, by package: what each vendor file must export. */
const used = new Map();

const vendorPlugin = {
  name: 'vendor',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      const pkg = packageOf(args.path);
      if (!pkg || args.namespace === 'vendor') return undefined;
      if (!used.has(pkg)) used.set(pkg, new Set());
      used.get(pkg).add(args.path);
      return { path: args.path, namespace: 'vendor' };
    });
    b.onResolve({ filter: /^\.\/vendor\//, namespace: 'vendor' }, (args) => ({ path: args.path, external: true }));
    b.onLoad({ filter: /.*/, namespace: 'vendor' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(`./vendor/${packageOf(args.path)}.cjs`)})[${JSON.stringify(args.path)}];`,
      loader: 'js',
    }));
  },
};

await build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/bundle/cli.cjs', plugins: [vendorPlugin] });

mkdirSync('dist/bundle/vendor', { recursive: true });
for (const [pkg, specifiers] of used) {
  const contents = `module.exports = {\n${[...specifiers].map((s) => `  ${JSON.stringify(s)}: require(${JSON.stringify(s)}),`).join('\n')}\n};\n`;
  await build({ ...common, stdin: { contents, resolveDir: process.cwd(), sourcefile: `vendor-${pkg}.cjs` }, outfile: `dist/bundle/vendor/${pkg}.cjs` });
}
const missing = VENDOR.filter((p) => !used.has(p));
if (missing.length > 0) {
  // A package left the list of imports: drop it here too, so the list stays true.
  process.stderr.write(`build: src/ no longer imports ${missing.join(', ')}: remove it from VENDOR in scripts/build.mjs\n`);
  process.exit(1);
}
