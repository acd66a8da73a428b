import fs from 'node:fs';

/** One instruction of a Dockerfile: keyword (upper case) and its arguments, continuations joined. */
export interface Instruction {
  keyword: string;
  args: string;
}

/** The instructions of a Dockerfile, without comments and with `\` continuations joined. */
export function readDockerfile(file: string): Instruction[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && pending === '')) continue;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      continue;
    }
    logical.push(pending + line);
    pending = '';
  }
  return logical
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [keyword = '', ...rest] = l.trim().split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

/** The ARGs declared before the first FROM (usable in FROM lines), with their defaults expanded in order. */
export function globalArgs(instructions: Instruction[]): Map<string, string | undefined> {
  const args = new Map<string, string | undefined>();
  for (const { keyword, args: text } of instructions) {
    if (keyword === 'FROM') break;
    if (keyword !== 'ARG') continue;
    const eq = text.indexOf('=');
    if (eq < 0) args.set(text, undefined);
    else args.set(text.slice(0, eq), expand(unquote(text.slice(eq + 1)), args));
  }
  return args;
}

/** `${NAME}` / `$NAME` replaced from `values`; throws on a name that has no value. */
export function expand(text: string, values: Map<string, string | undefined>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_m, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare ?? '';
    const value = values.get(name);
    if (value === undefined) throw new Error(`\${${name}} has no value`);
    return value;
  });
}

function unquote(text: string): string {
  return /^".*"$/.test(text) ? text.slice(1, -1) : text;
}

/** A build stage: its base (FROM, as written), its name if any, and its instructions. */
export interface Stage {
  from: string;
  name?: string | undefined;
  body: Instruction[];
}

export function stages(instructions: Instruction[]): Stage[] {
  const out: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const [from = '', as, name] = ins.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      out.push({ from, name: as?.toUpperCase() === 'AS' ? name : undefined, body: [] });
    } else {
      out.at(-1)?.body.push(ins);
    }
  }
  return out;
}
