// Exports of src/ modules that no other src/ module imports (an export is
// part of a module's interface only when another layer uses it). Kept and
// named apart: an export only the module's own test imports
// (test/**/<module>.test.ts). Run by hand: node scripts/unused-exports.mjs;
// exits 1 when there are others.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..');
const tsFiles = (dir) => readdirSync(join(ROOT, dir), { recursive: true })
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).map((f) => join(ROOT, dir, f));
const target = (from, spec) => resolve(dirname(from), spec).replace(/\.js$/, '.ts');

/** Names each module exports, and names each file imports from each module. */
function scan(file) {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const exported = new Set();
  const imported = []; // [module, name | '*']
  const visit = (node) => {
    const mods = ts.canHaveModifiers(node) ? ts.getModifiers(node) ?? [] : [];
    if (mods.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) {
      if (ts.isVariableStatement(node)) node.declarationList.declarations.forEach((d) => exported.add(d.name.getText()));
      else if (node.name) exported.add(node.name.getText());
    }
    if (ts.isExportDeclaration(node) && node.exportClause && ts.isNamedExports(node.exportClause)) {
      for (const e of node.exportClause.elements) {
        exported.add(e.name.getText());
        if (node.moduleSpecifier) imported.push([target(file, node.moduleSpecifier.text), (e.propertyName ?? e.name).getText()]);
      }
    }
    if (ts.isImportDeclaration(node) && node.moduleSpecifier.text.startsWith('.')) {
      const mod = target(file, node.moduleSpecifier.text);
      const b = node.importClause?.namedBindings;
      if (b && ts.isNamedImports(b)) b.elements.forEach((e) => imported.push([mod, (e.propertyName ?? e.name).getText()]));
      if (b && ts.isNamespaceImport(b)) {
        const ns = b.name.getText();
        const walk = (n) => {
          if (ts.isPropertyAccessExpression(n) && n.expression.getText() === ns) imported.push([mod, n.name.getText()]);
          ts.forEachChild(n, walk);
        };
        walk(sf);
      }
    }
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && ts.isStringLiteral(node.arguments[0])) {
      const mod = target(file, node.arguments[0].text);
      let p = node.parent;
      while (p && (ts.isAwaitExpression(p) || ts.isParenthesizedExpression(p))) p = p.parent;
      if (ts.isPropertyAccessExpression(p)) imported.push([mod, p.name.getText()]);
      else if (ts.isVariableDeclaration(p) && ts.isObjectBindingPattern(p.name)) p.name.elements.forEach((e) => imported.push([mod, (e.propertyName ?? e.name).getText()]));
      else imported.push([mod, '*']);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return { exported, imported };
}

const src = new Map(tsFiles('src').map((f) => [f, scan(f)]));
const usedBySrc = new Set();
for (const [file, { imported }] of src) for (const [mod, name] of imported) if (mod !== file) usedBySrc.add(`${mod}\0${name}`);
const usedByOwnTest = new Set();
for (const file of tsFiles('test')) {
  for (const [mod, name] of scan(file).imported) {
    if (basename(file) === `${basename(mod, '.ts')}.test.ts`) usedByOwnTest.add(`${mod}\0${name}`);
  }
}

let unused = 0;
for (const [file, { exported }] of src) {
  if (file.endsWith(join('cli', 'main.ts'))) continue;
  for (const name of exported) {
    const key = `${file}\0${name}`;
    if (usedBySrc.has(key) || usedBySrc.has(`${file}\0*`)) continue;
    const own = usedByOwnTest.has(key);
    if (!own) unused++;
    console.log(`${relative(ROOT, file)} ${name}${own ? ' (its own test)' : ''}`);
  }
}
process.exit(unused > 0 ? 1 : 0);
