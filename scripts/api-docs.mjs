// Generates docs/api.md, the API reference, from the doc comments of everything src/index.ts exports.
//
//   npm run docs:api                        write docs/api.md
//   node scripts/api-docs.mjs --check       exit 1 when docs/api.md is stale or an export has no doc comment
//
// It reads the sources with the TypeScript 5.9 compiler API (the devDependency `typescript5`): the compiler
// the project builds with, TypeScript 7, has no JavaScript API (shared/NOTES.md). Members tagged @internal are
// left out, as stripInternal leaves them out of the published .d.ts; private and protected members too.
// test/api-docs.test.ts runs collect() and render() and fails on the same two conditions as --check.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const ts = require('typescript5');

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const apiFile = join(root, 'docs', 'api.md');

const FORMAT = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.UseAliasDefinedOutsideCurrentScope;

/** One line: signatures written over several lines in the source read as one here. */
function oneLine(text) {
  return text.replace(/\s+/g, ' ').replace(/\(\s+/g, '(').replace(/\s+\)/g, ')').replace(/,\s*\)/g, ')').trim();
}

function docOf(symbol, checker) {
  return symbol ? ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim() : '';
}

function isInternal(node) {
  return ts.getJSDocTags(node).some((t) => t.tagName.text === 'internal');
}

function hidden(member) {
  const flags = ts.getCombinedModifierFlags(member);
  if (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) return true;
  if (member.name && ts.isPrivateIdentifier(member.name)) return true;
  if (ts.isClassStaticBlockDeclaration?.(member) || ts.isSemicolonClassElement(member) || ts.isIndexSignatureDeclaration(member)) return true;
  return isInternal(member);
}

/** The declaration's head as written: `class Task<T = unknown> implements Operation<T>`, without `export`. */
function head(decl, sf) {
  const text = sf.text.slice(decl.getStart(sf), decl.members.pos);
  return oneLine(text.replace(/\{\s*$/, '').replace(/^export\s+(declare\s+)?/, '').replace(/^(default\s+)/, ''));
}

/** A constructor's or setter's parameters as written, without parameter-property modifiers. */
function params(member, sf) {
  return member.parameters
    .map((p) => oneLine(p.getText(sf)).replace(/^((public|private|protected|readonly|override)\s+)+/, ''))
    .join(', ');
}

/**
 * A function's or method's signature as its source writes it when the return type is written out (the
 * checker would expand aliases), else as the checker infers it.
 */
function signature(decl, checker, sf, name) {
  let text;
  if (decl.type) {
    const typeParams = decl.typeParameters ? `<${decl.typeParameters.map((t) => oneLine(t.getText(sf))).join(', ')}>` : '';
    text = `${name}${typeParams}(${params(decl, sf)}): ${oneLine(decl.type.getText(sf))}`;
  } else {
    text = `${name}${oneLine(checker.signatureToString(checker.getSignatureFromDeclaration(decl), decl, FORMAT))}`;
  }
  // A task's generator type, written out or inferred, is what the exported alias Op<T> names.
  return text.replace(/: Generator<Instruction<unknown>, (.*), unknown>$/, ': Op<$1>');
}

function memberLine(member, checker, sf) {
  const isStatic = (ts.getCombinedModifierFlags(member) & ts.ModifierFlags.Static) !== 0 ? 'static ' : '';
  const name = member.name ? member.name.getText(sf) : '';
  if (ts.isConstructorDeclaration(member)) return `constructor(${params(member, sf)})`;
  if (ts.isMethodDeclaration(member) || ts.isMethodSignature(member)) {
    return `${isStatic}${signature(member, checker, sf, `${name}${member.questionToken ? '?' : ''}`)}`;
  }
  if (ts.isGetAccessorDeclaration(member)) {
    return `${isStatic}get ${name}(): ${checker.typeToString(checker.getTypeAtLocation(member), member, FORMAT)}`;
  }
  if (ts.isSetAccessorDeclaration(member)) return `${isStatic}set ${name}(${params(member, sf)})`;
  if (ts.isPropertyDeclaration(member) || ts.isPropertySignature(member)) {
    const readonly = (ts.getCombinedModifierFlags(member) & ts.ModifierFlags.Readonly) !== 0 ? 'readonly ' : '';
    const type = member.type ? member.type.getText(sf) : checker.typeToString(checker.getTypeAtLocation(member), member, FORMAT);
    return oneLine(`${isStatic}${readonly}${name}${member.questionToken ? '?' : ''}: ${type}`);
  }
  if (ts.isCallSignatureDeclaration(member) || ts.isConstructSignatureDeclaration(member)) return oneLine(member.getText(sf).replace(/;$/, ''));
  return oneLine(member.getText(sf).replace(/;$/, ''));
}

function members(decl, checker, sf) {
  const seen = new Set();
  const out = [];
  for (const member of decl.members) {
    if (hidden(member)) continue;
    const line = memberLine(member, checker, sf);
    // Overloads: one line each, the doc comment once (on the first).
    const symbol = member.name ? checker.getSymbolAtLocation(member.name) : undefined;
    const doc = symbol && seen.has(symbol) ? '' : docOf(symbol, checker) || (ts.isConstructorDeclaration(member) ? jsdocText(member) : '');
    if (symbol) seen.add(symbol);
    out.push({ line, doc });
  }
  return out;
}

function jsdocText(node) {
  const docs = node.jsDoc ?? [];
  const comment = docs.length ? docs[docs.length - 1].comment : undefined;
  return typeof comment === 'string' ? comment.trim() : comment ? ts.getTextOfJSDocComment(comment)?.trim() ?? '' : '';
}

/** What one export is: its kind, its declaration as a code line or block, its doc comment and its members. */
function describe(name, symbol, checker) {
  const decl = symbol.declarations?.[0];
  if (!decl) return { name, kind: 'unknown', module: '?', code: name, doc: '', members: [] };
  const sf = decl.getSourceFile();
  const module = relative(join(root, 'src'), sf.fileName).split('\\').join('/');
  const doc = docOf(symbol, checker);
  if (ts.isFunctionDeclaration(decl)) {
    // Overloads: their signatures, not the implementation's.
    const all = symbol.declarations.filter(ts.isFunctionDeclaration);
    const overloads = all.filter((d) => !d.body);
    const code = (overloads.length ? overloads : all.slice(0, 1)).map((d) => `function ${signature(d, checker, sf, name)}`).join('\n');
    return { name, kind: 'function', module, code, doc, members: [] };
  }
  if (ts.isClassDeclaration(decl)) return { name, kind: 'class', module, code: head(decl, sf), doc, members: members(decl, checker, sf) };
  if (ts.isInterfaceDeclaration(decl)) return { name, kind: 'interface', module, code: head(decl, sf), doc, members: members(decl, checker, sf) };
  if (ts.isTypeAliasDeclaration(decl)) {
    const code = decl.getText(sf).replace(/^export\s+/, '');
    return { name, kind: 'type', module, code, doc, members: [] };
  }
  if (ts.isVariableDeclaration(decl)) {
    const type = checker.typeToString(checker.getTypeOfSymbolAtLocation(symbol, decl), decl, FORMAT);
    return { name, kind: 'const', module, code: `const ${name}: ${type}`, doc, members: [] };
  }
  return { name, kind: ts.SyntaxKind[decl.kind], module, code: oneLine(decl.getText(sf)), doc, members: [] };
}

/**
 * Every export of `entry` (default: src/index.ts), in the order index.ts names them, and the names of those
 * without a doc comment.
 */
export function collect(entry = join(root, 'src', 'index.ts')) {
  const program = ts.createProgram([entry], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
    typeRoots: [join(root, 'node_modules', '@types')],
  });
  const checker = program.getTypeChecker();
  const sf = program.getSourceFile(entry);
  const moduleSymbol = sf && checker.getSymbolAtLocation(sf);
  if (!moduleSymbol) throw new Error(`api-docs: ${entry} is not a module`);
  const entries = checker.getExportsOfModule(moduleSymbol).map((e) => {
    const target = e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e;
    return describe(e.name, target, checker);
  });
  return { entries, undocumented: entries.filter((e) => e.doc === '').map((e) => `${e.name} (src/${e.module})`) };
}

const anchor = (name) => name.toLowerCase().replace(/[^a-z0-9_-]/g, '');

/** The markdown of docs/api.md. */
export function render(entries) {
  const byModule = new Map();
  for (const e of entries) byModule.set(e.module, [...(byModule.get(e.module) ?? []), e]);
  const L = [
    '# API reference',
    '',
    'Everything `corio` exports (`src/index.ts`), by the module that defines it, with its doc comment. Generated',
    'by `npm run docs:api` (`scripts/api-docs.mjs`); `test/api-docs.test.ts` fails when this file is stale or an',
    'export has no doc comment, so edit the comments in `src/`, not this file. The README explains how the parts',
    'fit together; this page is the exact names and signatures.',
    '',
    '## Contents',
    '',
  ];
  for (const [module, list] of byModule) {
    L.push(`- \`src/${module}\`: ${list.map((e) => `[${e.name}](#${anchor(e.name)})`).join(', ')}`);
  }
  for (const [module, list] of byModule) {
    L.push('', `## src/${module}`);
    for (const e of list) {
      L.push('', `### ${e.name}`, '', '```ts', e.code, '```', '');
      L.push(e.doc || '*(no doc comment)*');
      if (e.members.length) {
        L.push('');
        for (const m of e.members) L.push(`- \`${m.line.replace(/`/g, "'")}\`${m.doc ? ` — ${oneLine(m.doc)}` : ''}`);
      }
    }
  }
  return `${L.join('\n')}\n`;
}

function isMain() {
  return process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
}

if (isMain()) {
  const check = process.argv.includes('--check');
  const { entries, undocumented } = collect();
  const text = render(entries);
  let status = 0;
  if (undocumented.length) {
    console.error(`api-docs: ${undocumented.length} export(s) of src/index.ts without a doc comment:\n  ${undocumented.join('\n  ')}`);
    status = 1;
  }
  if (check) {
    let current = '';
    try {
      current = readFileSync(apiFile, 'utf8');
    } catch {
      // missing: stale
    }
    if (current !== text) {
      console.error('api-docs: docs/api.md is stale: run npm run docs:api');
      status = 1;
    }
  } else {
    writeFileSync(apiFile, text);
    console.log(`api-docs: wrote ${relative(root, apiFile)} (${entries.length} exports)`);
  }
  process.exitCode = status;
}
