/**
 * A small evaluator for the subset of CEL (Common Expression Language, github.com/google/cel-spec) that the
 * chart's ValidatingAdmissionPolicy uses, so its expressions are evaluated as written rather than mirrored in
 * TypeScript. No CEL package is installed here (@bufbuild/cel would be the full one). Anything outside the
 * subset is a parse error, never a silent pass.
 *
 * Supported — what the policy's expressions use, nothing more: bool/int/string literals (double-quoted, \" and
 * \\ escapes), lists `[a, b]`; identifiers bound by the caller (`object`, `request`, `variables`); `.field` and
 * `map["key"]`; `has(a.b)`; `size(x)`; the macro `x.all(v, p)`; operators `!`, `+` (lists), `==`, `<`, `<=`,
 * `>`, `>=`, `in` (list membership, map keys), `&&`, `||`, `? :`. Semantics as Kubernetes' cel-go runs them: selecting an absent field is an error ("no such
 * key"), `has()` tests presence, `&&`/`||` absorb an error when the other side decides (false && error =
 * false), equality across types is false (heterogeneous equality).
 */

export class CelError extends Error {}

type Value = null | boolean | number | string | Value[] | { [key: string]: Value } | undefined;
type Node =
  | { t: 'lit'; v: Value }
  | { t: 'id'; name: string }
  | { t: 'list'; items: Node[] }
  | { t: 'sel'; of: Node; field: string }
  | { t: 'idx'; of: Node; index: Node }
  | { t: 'call'; fn: string; target: Node | null; args: Node[] }
  | { t: 'un'; op: string; arg: Node }
  | { t: 'bin'; op: string; l: Node; r: Node }
  | { t: 'cond'; c: Node; a: Node; b: Node };

const TOKEN = /\s*(?:(\d+)|("(?:[^"\\]|\\.)*")|([A-Za-z_][A-Za-z0-9_]*)|(&&|\|\||==|<=|>=|[+!<>?:.,()[\]]))/y;

function tokenize(src: string): string[] {
  const out: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < src.length) {
    if (/^\s*$/.test(src.slice(TOKEN.lastIndex))) break;
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(src);
    if (!m) throw new CelError(`unsupported syntax at ${at}: ${src.slice(at, at + 20)}`);
    out.push(m[1] ?? m[2] ?? m[3] ?? m[4]!);
  }
  return out;
}

function parse(src: string): Node {
  const toks = tokenize(src);
  let i = 0;
  const peek = (): string | undefined => toks[i];
  const take = (want?: string): string => {
    const t = toks[i++];
    if (t === undefined || (want !== undefined && t !== want))
      throw new CelError(`expected ${want ?? 'a token'}, got ${t ?? 'end'} in ${src}`);
    return t;
  };
  const BIN: [string[], number][] = [
    [['||'], 1],
    [['&&'], 2],
    [['==', '<', '<=', '>', '>=', 'in'], 3],
    [['+'], 4],
  ];
  const prec = (op: string | undefined): number =>
    BIN.find(([ops]) => op !== undefined && ops.includes(op))?.[1] ?? 0;

  function expr(): Node {
    const c = binary(1);
    if (peek() !== '?') return c;
    take('?');
    const a = expr();
    take(':');
    return { t: 'cond', c, a, b: expr() };
  }
  function binary(min: number): Node {
    let l = unary();
    while (prec(peek()) >= min) {
      const op = take();
      l = { t: 'bin', op, l, r: binary(prec(op) + 1) };
    }
    return l;
  }
  function unary(): Node {
    if (peek() === '!') return { t: 'un', op: take(), arg: unary() };
    return postfix(primary());
  }
  function args(): Node[] {
    take('(');
    const list: Node[] = [];
    while (peek() !== ')') {
      list.push(expr());
      if (peek() !== ')') take(',');
    }
    take(')');
    return list;
  }
  function postfix(node: Node): Node {
    for (;;) {
      if (peek() === '.') {
        take('.');
        const name = take();
        if (!/^[A-Za-z_]/.test(name)) throw new CelError(`bad field ${name}`);
        node =
          peek() === '('
            ? { t: 'call', fn: name, target: node, args: args() }
            : { t: 'sel', of: node, field: name };
      } else if (peek() === '[') {
        take('[');
        node = { t: 'idx', of: node, index: expr() };
        take(']');
      } else return node;
    }
  }
  function primary(): Node {
    const t = take();
    if (/^\d+$/.test(t)) return { t: 'lit', v: Number(t) };
    if (t.startsWith('"')) return { t: 'lit', v: t.slice(1, -1).replace(/\\(.)/g, '$1') };
    if (t === 'true' || t === 'false') return { t: 'lit', v: t === 'true' };
    if (t === '(') {
      const e = expr();
      take(')');
      return e;
    }
    if (t === '[') {
      const items: Node[] = [];
      while (peek() !== ']') {
        items.push(expr());
        if (peek() !== ']') take(',');
      }
      take(']');
      return { t: 'list', items };
    }
    if (/^[A-Za-z_]/.test(t))
      return peek() === '(' ? { t: 'call', fn: t, target: null, args: args() } : { t: 'id', name: t };
    throw new CelError(`unexpected ${t} in ${src}`);
  }
  const node = expr();
  if (i !== toks.length) throw new CelError(`unexpected ${toks[i]} in ${src}`);
  return node;
}

const isMap = (v: Value): v is { [key: string]: Value } =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

function equal(a: Value, b: Value): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, k) => equal(x, b[k]));
  if (isMap(a) && isMap(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && equal(a[k], b[k]));
  }
  return a === b;
}

function bool(v: Value, what: string): boolean {
  if (typeof v !== 'boolean') throw new CelError(`${what}: expected bool, got ${JSON.stringify(v)}`);
  return v;
}

function evaluate(node: Node, env: Record<string, Value>): Value {
  const ev = (n: Node): Value => evaluate(n, env);
  switch (node.t) {
    case 'lit':
      return node.v;
    case 'id':
      if (!(node.name in env)) throw new CelError(`undeclared reference to '${node.name}'`);
      return env[node.name];
    case 'list':
      return node.items.map(ev);
    case 'sel': {
      const of = ev(node.of);
      if (!isMap(of) || !(node.field in of) || of[node.field] === undefined)
        throw new CelError(`no such key: ${node.field}`);
      return of[node.field];
    }
    case 'idx': {
      const of = ev(node.of);
      const k = ev(node.index);
      if (isMap(of) && typeof k === 'string' && k in of) return of[k];
      throw new CelError(`no such key: ${JSON.stringify(k)}`);
    }
    case 'un':
      return !bool(ev(node.arg), '!');
    case 'cond':
      return bool(ev(node.c), '?:') ? ev(node.a) : ev(node.b);
    case 'bin':
      return binaryOp(node, env);
    case 'call':
      return call(node, env);
  }
}

function binaryOp(node: Extract<Node, { t: 'bin' }>, env: Record<string, Value>): Value {
  const ev = (n: Node): Value => evaluate(n, env);
  if (node.op === '&&' || node.op === '||') {
    const decides = node.op === '||'; // the value that settles the result on either side
    let leftError: Error | null = null;
    try {
      if (bool(ev(node.l), node.op) === decides) return decides;
    } catch (err) {
      leftError = err as Error;
    }
    if (bool(ev(node.r), node.op) === decides) return decides;
    if (leftError) throw leftError;
    return !decides;
  }
  const l = ev(node.l);
  const r = ev(node.r);
  switch (node.op) {
    case '==':
      return equal(l, r);
    case 'in':
      if (Array.isArray(r)) return r.some((x) => equal(x, l));
      if (isMap(r) && typeof l === 'string') return l in r;
      throw new CelError('in: expected a list or map');
    case '+':
      if (Array.isArray(l) && Array.isArray(r)) return [...l, ...r];
      throw new CelError('+: no such overload');
    default: {
      if (!(
        (typeof l === 'number' && typeof r === 'number') ||
        (typeof l === 'string' && typeof r === 'string')
      ))
        throw new CelError(`${node.op}: no such overload`);
      return node.op === '<' ? l < r : node.op === '<=' ? l <= r : node.op === '>' ? l > r : l >= r;
    }
  }
}

function call(node: Extract<Node, { t: 'call' }>, env: Record<string, Value>): Value {
  const ev = (n: Node): Value => evaluate(n, env);
  const { fn, target, args } = node;
  if (fn === 'has' && target === null) {
    const arg = args[0];
    if (args.length !== 1 || arg?.t !== 'sel') throw new CelError('has() takes one field selection');
    const of = ev(arg.of);
    if (!isMap(of)) throw new CelError(`has(): ${arg.field} of a non-object`);
    return arg.field in of && of[arg.field] !== undefined && of[arg.field] !== null;
  }
  if (fn === 'size' && target === null && args.length === 1) {
    const v = ev(args[0]!);
    if (typeof v === 'string' || Array.isArray(v)) return v.length;
    if (isMap(v)) return Object.keys(v).length;
    throw new CelError('size(): no such overload');
  }
  const variable = args[0];
  if (fn === 'all' && target && args.length === 2 && variable?.t === 'id') {
    const list = ev(target);
    if (!Array.isArray(list)) throw new CelError('all(): not a list');
    const name = variable.name;
    return list.every((x) => bool(evaluate(args[1]!, { ...env, [name]: x }), 'all'));
  }
  throw new CelError(`unsupported function ${fn}`);
}

/** Parses and evaluates `expression` with these bindings (plain JSON values). */
export function evaluateCel(expression: string, bindings: Record<string, unknown>): unknown {
  return evaluate(parse(expression), bindings as Record<string, Value>);
}
