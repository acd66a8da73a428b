import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * `gpumux/no-import-cycle`: a module may not import (directly or through others) a module that imports it back
 * — type-only imports included. eslint-plugin-import-x's `no-cycle` skips `import type` by construction, yet a
 * type-only cycle is the same tangle for a reader (and becomes a value cycle with the next helper added), so
 * this rule walks every relative import, type or not. The graph is read once per lint run (each file's
 * imports cached by modification time) with TypeScript's import scanner, not a full parse.
 */

/** @type {Map<string, { mtimeMs: number; imports: string[] }>} */
const importsCache = new Map();

/**
 * The file a relative specifier names, under NodeNext resolution (`./x.js` is `./x.ts`); null if none.
 * @param {string} fromFile
 * @param {string} specifier
 * @returns {string | null}
 */
function resolveSpecifier(fromFile, specifier) {
  if (!specifier.startsWith('.')) return null;
  const base = path.resolve(path.dirname(fromFile), specifier);
  const stem = base.replace(/\.(m|c)?js$/, '');
  const candidates = /\.(m|c)?js$/.test(base)
    ? [`${stem}.ts`, `${stem}.mts`, `${stem}.cts`, base]
    : [base, `${base}.ts`, `${base}.js`, path.join(base, 'index.ts'), path.join(base, 'index.js')];
  for (const candidate of candidates) {
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not this candidate
    }
  }
  return null;
}

/**
 * Files `file` imports: static, type-only, re-exports and dynamic imports of relative paths.
 * @param {string} file
 * @returns {string[]}
 */
function importsOf(file) {
  let mtimeMs;
  try {
    mtimeMs = statSync(file).mtimeMs;
  } catch {
    return [];
  }
  const cached = importsCache.get(file);
  if (cached && cached.mtimeMs === mtimeMs) return cached.imports;
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  const imports = importedFiles.flatMap((f) => resolveSpecifier(file, f.fileName) ?? []);
  importsCache.set(file, { mtimeMs, imports });
  return imports;
}

/**
 * The shortest import path from `start` back to `target` (both included), or null when there is none.
 * @param {string} start
 * @param {string} target
 * @returns {string[] | null}
 */
function pathBack(start, target) {
  /** @type {Map<string, string | null>} */
  const parent = new Map([[start, null]]);
  const queue = [start];
  while (queue.length > 0) {
    const file = /** @type {string} */ (queue.shift());
    for (const next of importsOf(file)) {
      if (next === target) {
        const route = [target];
        for (let at = /** @type {string | null} */ (file); at !== null; at = parent.get(at) ?? null)
          route.push(at);
        return route.reverse();
      }
      if (parent.has(next) || next.includes(`${path.sep}node_modules${path.sep}`)) continue;
      parent.set(next, file);
      queue.push(next);
    }
  }
  return null;
}

/** @type {import('eslint').Rule.RuleModule} */
export const noImportCycle = {
  meta: {
    type: 'problem',
    docs: { description: 'Forbid import cycles, type-only imports included' },
    schema: [],
    messages: {
      cycle: 'Import cycle: {{route}}. Move what both sides need into a module that imports neither.',
    },
  },
  create(context) {
    const file = context.physicalFilename;
    const root = context.cwd;
    /** @param {import('estree').Node & { source?: unknown }} node */
    function check(node) {
      const source = /** @type {{ type?: string; value?: unknown } | null | undefined} */ (node.source);
      if (source?.type !== 'Literal' || typeof source.value !== 'string') return;
      const target = resolveSpecifier(file, source.value);
      if (target === null || target === file) return;
      const route = pathBack(target, file);
      if (route === null) return;
      const names = [file, ...route].map((f) => path.relative(root, f));
      context.report({ node, messageId: 'cycle', data: { route: names.join(' → ') } });
    }
    return {
      ImportDeclaration: check,
      ExportNamedDeclaration: check,
      ExportAllDeclaration: check,
      ImportExpression: check,
    };
  },
};
