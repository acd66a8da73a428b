import fs from 'node:fs';
import path from 'node:path';

/**
 * The npm packages that a module and everything it imports load at run time (`import type` excluded),
 * following relative imports through the TypeScript sources. `skipDynamicFrom`: files whose dynamic
 * `import()`s are not followed (commands an image never runs load their parts lazily).
 */
export function packagesReachedFrom(entries: string[], skipDynamicFrom: string[] = []): Map<string, string> {
  const skip = new Set(skipDynamicFrom.map((f) => path.resolve(f)));
  const seen = new Set<string>();
  const packages = new Map<string, string>(); // package -> first file that imports it
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = fs.readFileSync(file, 'utf8');
    const statics = [
      ...source.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^'"]*?from\s+['"]([^'"]+)['"]/gm),
    ];
    const sideEffects = [...source.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)];
    const dynamics = skip.has(file) ? [] : [...source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)];
    for (const [, spec = ''] of [...statics, ...sideEffects, ...dynamics]) {
      if (spec.startsWith('.')) {
        const target = path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts'));
        if (fs.existsSync(target)) visit(target);
      } else if (!spec.startsWith('node:')) {
        const name = spec.startsWith('@')
          ? spec.split('/').slice(0, 2).join('/')
          : (spec.split('/')[0] ?? spec);
        if (!packages.has(name)) packages.set(name, path.relative(process.cwd(), file));
      }
    }
  };
  for (const entry of entries) visit(path.resolve(entry));
  return packages;
}
