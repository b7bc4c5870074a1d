/**
 * Renders the Helm chart under deploy/helm/ without helm (which this machine cannot install): Go's
 * text/template in the subset the chart is written in, with the Helm and Sprig functions it calls.
 * No npm package does this faithfully (one is Go's text/template compiled to WebAssembly without
 * Sprig or `include`, the others are partial JavaScript ports without either), so the chart keeps to
 * a subset small enough to be rendered here exactly, and anything outside it is refused with the
 * construct named, rather than rendered approximately:
 *
 *   actions `{{ }}` with trim markers `{{-` / `-}}`, comments `{{/* *\/}}`; `define`, `if` / `else if` /
 *   `else`, `range` (lists and maps, map keys in sorted order as Go does; `$v :=`, `$k, $v :=`),
 *   `with`, `end`; variables (`$`, `$x :=`, `$x =`, scoped to their block); pipelines `a | f b`,
 *   parenthesised pipelines; operands: fields `.a.b`, `$x.a`, strings, numbers, true/false/nil.
 *   Functions: FUNCTIONS below, with Helm's argument order (the piped value comes last).
 *
 * Semantics follow Go and Helm where the chart can tell: a missing map key is "no value" (printed
 * as the empty string, as Helm does), a field of no value is an error, truthiness is Go's (false,
 * 0, nil, "", empty list or map are false), `toYaml` drops its trailing newline, `indent` pads every
 * line. When `helm` is on PATH the chart test also runs `helm lint` and `helm template` and checks
 * that output the same way.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, parseAllDocuments, stringify as toYamlText } from 'yaml';

type Value = unknown;

interface Text {
  kind: 'text';
  text: string;
}
interface Action {
  kind: 'action';
  pipe: Pipeline;
}
interface If {
  kind: 'if';
  branches: { cond: Pipeline; body: Node[] }[];
  otherwise: Node[];
}
interface Range {
  kind: 'range';
  pipe: Pipeline;
  body: Node[];
  otherwise: Node[];
}
interface With {
  kind: 'with';
  pipe: Pipeline;
  body: Node[];
  otherwise: Node[];
}
type Node = Text | Action | If | Range | With;

type Operand =
  | { kind: 'field'; base: 'dot' | string; path: string[] }
  | { kind: 'literal'; value: Value }
  | { kind: 'ident'; name: string }
  | { kind: 'sub'; pipe: Pipeline };
interface Pipeline {
  /** `$x :=` / `$k, $v :=` (declare) or `$x =` (assign). */
  vars: string[];
  assign: boolean;
  commands: Operand[][];
}

export class TemplateError extends Error {}

/** Splits a template into text and the insides of its actions, applying the trim markers. */
function lex(source: string, file: string): ({ text: string } | { action: string })[] {
  const out: ({ text: string } | { action: string })[] = [];
  let i = 0;
  let trimNext = false;
  while (i < source.length) {
    const open = source.indexOf('{{', i);
    let text = source.slice(i, open === -1 ? source.length : open);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (open === -1) {
      out.push({ text });
      break;
    }
    let start = open + 2;
    if (/^-\s/.test(source.slice(start, start + 2))) {
      text = text.replace(/\s+$/, '');
      start += 2;
    }
    out.push({ text });
    // The action ends at the first `}}` outside a string literal or comment.
    let j = start;
    let quote: string | null = null;
    for (; j < source.length; j++) {
      const c = source[j]!;
      if (quote) {
        if (c === '\\' && quote === '"') j++;
        else if (c === quote) quote = null;
      } else if (c === '"' || c === '`') quote = c;
      else if (source.startsWith('/*', j)) {
        const close = source.indexOf('*/', j + 2);
        if (close === -1) throw new TemplateError(`${file}: unclosed comment`);
        j = close + 1;
      } else if (source.startsWith('}}', j)) break;
    }
    if (j >= source.length) throw new TemplateError(`${file}: unclosed action at ${open}`);
    let inside = source.slice(start, j);
    trimNext = /\s-$/.test(inside);
    if (trimNext) inside = inside.slice(0, -2);
    if (!/^\s*\/\*[\s\S]*\*\/\s*$/.test(inside)) out.push({ action: inside.trim() });
    i = j + 2;
  }
  return out;
}

/** Tokens of an action's pipeline. */
function tokenize(action: string, where: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < action.length) {
    const c = action[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < action.length && action[j] !== '"') j += action[j] === '\\' ? 2 : 1;
      tokens.push(action.slice(i, j + 1));
      i = j + 1;
    } else if (c === '`') {
      const j = action.indexOf('`', i + 1);
      tokens.push(action.slice(i, j + 1));
      i = j + 1;
    } else if ('()|,'.includes(c)) {
      tokens.push(c);
      i++;
    } else if (action.startsWith(':=', i)) {
      tokens.push(':=');
      i += 2;
    } else if (c === '=') {
      tokens.push('=');
      i++;
    } else {
      const m = /^[^\s()|,"`=:]+/.exec(action.slice(i));
      if (!m) throw new TemplateError(`${where}: cannot read "${action.slice(i)}"`);
      tokens.push(m[0]);
      i += m[0].length;
    }
  }
  return tokens;
}

function parsePipeline(tokens: string[], where: string): Pipeline {
  let pos = 0;
  const vars: string[] = [];
  let assign = false;
  // A declaration: `$a :=`, `$a, $b :=`, or an assignment `$a =`.
  const decl = tokens.findIndex((t) => t === ':=' || t === '=');
  if (decl !== -1 && tokens.slice(0, decl).every((t) => t === ',' || t.startsWith('$'))) {
    vars.push(...tokens.slice(0, decl).filter((t) => t !== ','));
    assign = tokens[decl] === '=';
    pos = decl + 1;
  }
  const pipe = (stopAtParen: boolean): Pipeline['commands'] => {
    const commands: Operand[][] = [[]];
    while (pos < tokens.length) {
      const t = tokens[pos++]!;
      if (t === ')') {
        if (!stopAtParen) throw new TemplateError(`${where}: unexpected )`);
        return commands;
      }
      if (t === '|') commands.push([]);
      else if (t === '(') commands.at(-1)!.push({ kind: 'sub', pipe: { vars: [], assign: false, commands: pipe(true) } });
      else commands.at(-1)!.push(operand(t, where));
    }
    if (stopAtParen) throw new TemplateError(`${where}: unclosed (`);
    return commands;
  };
  const commands = pipe(false);
  if (commands.some((c) => c.length === 0)) throw new TemplateError(`${where}: empty command in pipeline`);
  return { vars, assign, commands };
}

function operand(t: string, where: string): Operand {
  if (t.startsWith('"')) return { kind: 'literal', value: JSON.parse(t) as string };
  if (t.startsWith('`')) return { kind: 'literal', value: t.slice(1, -1) };
  if (/^-?\d+(\.\d+)?$/.test(t)) return { kind: 'literal', value: Number(t) };
  if (t === 'true' || t === 'false') return { kind: 'literal', value: t === 'true' };
  if (t === 'nil') return { kind: 'literal', value: null };
  if (t === '.') return { kind: 'field', base: 'dot', path: [] };
  if (t.startsWith('.')) return { kind: 'field', base: 'dot', path: t.slice(1).split('.') };
  if (t.startsWith('$')) {
    const [name, ...path] = t.split('.');
    return { kind: 'field', base: name!, path };
  }
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(t)) return { kind: 'ident', name: t };
  throw new TemplateError(`${where}: "${t}" is not in the renderer's subset`);
}

/** Parses a file into its body and the `define`d templates it holds. */
function parseFile(source: string, file: string, defines: Map<string, Node[]>): Node[] {
  const items = lex(source, file);
  let pos = 0;
  const block = (terminators: string[]): { nodes: Node[]; end: string } => {
    const nodes: Node[] = [];
    while (pos < items.length) {
      const item = items[pos++]!;
      if ('text' in item) {
        if (item.text) nodes.push({ kind: 'text', text: item.text });
        continue;
      }
      const where = `${file}: {{ ${item.action} }}`;
      const [keyword] = item.action.split(/\s+/, 1);
      const rest = item.action.slice(keyword!.length).trim();
      if (keyword === 'end' || keyword === 'else') {
        if (!terminators.includes(keyword)) throw new TemplateError(`${where}: unexpected ${keyword}`);
        return { nodes, end: item.action };
      }
      if (keyword === 'if') {
        const branches = [{ cond: parsePipeline(tokenize(rest, where), where), body: [] as Node[] }];
        let otherwise: Node[] = [];
        for (;;) {
          const inner = block(['end', 'else']);
          if (inner.end === 'end') {
            branches.at(-1)!.body = inner.nodes;
            break;
          }
          branches.at(-1)!.body = inner.nodes;
          const elseIf = /^else\s+if\s+(.*)$/s.exec(inner.end);
          if (elseIf) {
            branches.push({ cond: parsePipeline(tokenize(elseIf[1]!, where), where), body: [] });
            continue;
          }
          if (inner.end !== 'else') throw new TemplateError(`${where}: "${inner.end}" is not in the renderer's subset`);
          const last = block(['end']);
          otherwise = last.nodes;
          break;
        }
        nodes.push({ kind: 'if', branches, otherwise });
      } else if (keyword === 'range' || keyword === 'with') {
        const pipe = parsePipeline(tokenize(rest, where), where);
        const inner = block(['end', 'else']);
        if (inner.end !== 'end' && inner.end !== 'else') throw new TemplateError(`${where}: "${inner.end}" is not in the renderer's subset`);
        const otherwise = inner.end === 'else' ? block(['end']).nodes : [];
        nodes.push({ kind: keyword, pipe, body: inner.nodes, otherwise });
      } else if (keyword === 'define') {
        const name = JSON.parse(rest) as string;
        defines.set(name, block(['end']).nodes);
      } else if (['template', 'block', 'break', 'continue'].includes(keyword!)) {
        throw new TemplateError(`${where}: ${keyword} is not in the renderer's subset (use include)`);
      } else {
        nodes.push({ kind: 'action', pipe: parsePipeline(tokenize(item.action, where), where) });
      }
    }
    if (terminators.length) throw new TemplateError(`${file}: missing {{ end }}`);
    return { nodes, end: '' };
  };
  return block([]).nodes;
}

/** Go's truth: false, 0, nil, "" and empty lists and maps are false. */
export function truthy(v: Value): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

function printed(v: Value, where: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new TemplateError(`${where}: printing a ${Array.isArray(v) ? 'list' : 'map'} is not in the renderer's subset (use toYaml)`);
}

const isMap = (v: Value): v is Record<string, Value> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Sprig's printf verbs the chart uses: %s %d %v %q. */
function sprintf(format: string, args: Value[]): string {
  let n = 0;
  return format.replace(/%([sdvq%])/g, (_, verb: string) => {
    if (verb === '%') return '%';
    const arg = args[n++];
    if (verb === 'q') return JSON.stringify(String(arg));
    return printed(arg, `printf "${format}"`);
  });
}

class Renderer {
  readonly defines = new Map<string, Node[]>();
  private depth = 0;

  readonly FUNCTIONS: Record<string, (...args: Value[]) => Value> = {
    include: (name, data) => {
      const body = this.defines.get(String(name));
      if (!body) throw new TemplateError(`include: no template "${String(name)}"`);
      if (++this.depth > 50) throw new TemplateError(`include: "${String(name)}" nests too deep`);
      try {
        return this.run(body, data, [new Map([['$', data]])]);
      } finally {
        this.depth--;
      }
    },
    toYaml: (v) => (v === undefined || v === null ? 'null' : toYamlText(v).replace(/\n$/, '')),
    indent: (n, s) => String(s).replace(/^/gm, ' '.repeat(Number(n))),
    nindent: (n, s) => `\n${String(s).replace(/^/gm, ' '.repeat(Number(n)))}`,
    quote: (...args) => args.filter((a) => a !== undefined && a !== null).map((a) => JSON.stringify(printed(a, 'quote'))).join(' '),
    printf: (format, ...args) => sprintf(String(format), args),
    default: (fallback, v) => (truthy(v) ? v : fallback),
    required: (message, v) => {
      if (v === undefined || v === null || v === '') throw new TemplateError(`required: ${String(message)}`);
      return v;
    },
    fail: (message) => {
      throw new TemplateError(`fail: ${String(message)}`);
    },
    dict: (...kv) => {
      const out: Record<string, Value> = {};
      for (let i = 0; i < kv.length; i += 2) out[String(kv[i])] = kv[i + 1];
      return out;
    },
    list: (...items) => items,
    has: (needle, list) => Array.isArray(list) && list.includes(needle),
    hasKey: (map, key) => isMap(map) && Object.hasOwn(map, String(key)),
    contains: (substr, s) => String(s).includes(String(substr)),
    hasPrefix: (prefix, s) => String(s).startsWith(String(prefix)),
    trunc: (n, s) => String(s).slice(0, Number(n)),
    trimSuffix: (suffix, s) => (String(s).endsWith(String(suffix)) ? String(s).slice(0, -String(suffix).length) : String(s)),
    upper: (s) => String(s).toUpperCase(),
    toString: (v: Value) => printed(v, 'toString'),
    index: (map, ...keys) =>
      keys.reduce((v: Value, k) => {
        if (!isMap(v) && !Array.isArray(v)) throw new TemplateError(`index of ${String(k)} in no map`);
        return (v as Record<string, Value>)[String(k)];
      }, map),
    eq: (a, ...bs) => bs.some((b) => a === b),
    ne: (a, b) => a !== b,
    not: (v) => !truthy(v),
    and: (...vs) => vs.find((v) => !truthy(v)) ?? vs.at(-1),
    or: (...vs) => vs.find((v) => truthy(v)) ?? vs.at(-1),
  };

  run(nodes: Node[], dot: Value, scopes: Map<string, Value>[]): string {
    let out = '';
    const inner = () => [...scopes, new Map<string, Value>()];
    for (const node of nodes) {
      if (node.kind === 'text') out += node.text;
      else if (node.kind === 'action') {
        const v = this.pipeline(node.pipe, dot, scopes);
        if (node.pipe.vars.length === 0) out += printed(v, 'action');
      } else if (node.kind === 'if') {
        const branch = node.branches.find((b) => truthy(this.pipeline(b.cond, dot, scopes)));
        out += branch ? this.run(branch.body, dot, inner()) : this.run(node.otherwise, dot, inner());
      } else if (node.kind === 'with') {
        const vars = node.pipe.vars;
        const v = this.pipeline({ ...node.pipe, vars: [] }, dot, scopes);
        if (truthy(v)) {
          const scope = inner();
          if (vars[0]) scope.at(-1)!.set(vars[0], v);
          out += this.run(node.body, v, scope);
        } else out += this.run(node.otherwise, dot, inner());
      } else {
        const v = this.pipeline({ ...node.pipe, vars: [] }, dot, scopes);
        const entries: [Value, Value][] = Array.isArray(v)
          ? v.map((item, i) => [i, item])
          : isMap(v)
            ? Object.keys(v).sort().map((k) => [k, v[k]])
            : v === undefined || v === null
              ? []
              : (() => {
                  throw new TemplateError(`range over ${typeof v} is not in the renderer's subset`);
                })();
        if (entries.length === 0) out += this.run(node.otherwise, dot, inner());
        for (const [key, item] of entries) {
          const scope = inner();
          const [a, b] = node.pipe.vars;
          if (b) {
            scope.at(-1)!.set(a!, key);
            scope.at(-1)!.set(b, item);
          } else if (a) scope.at(-1)!.set(a, item);
          out += this.run(node.body, item, scope);
        }
      }
    }
    return out;
  }

  private pipeline(pipe: Pipeline, dot: Value, scopes: Map<string, Value>[]): Value {
    let value: Value;
    let piped = false;
    for (const command of pipe.commands) {
      value = this.command(command, dot, scopes, piped ? [value] : []);
      piped = true;
    }
    if (pipe.vars.length) {
      const name = pipe.vars[0]!;
      if (pipe.assign) {
        const scope = [...scopes].reverse().find((s) => s.has(name));
        if (!scope) throw new TemplateError(`undefined variable ${name}`);
        scope.set(name, value);
      } else scopes.at(-1)!.set(name, value);
    }
    return value;
  }

  private command(command: Operand[], dot: Value, scopes: Map<string, Value>[], piped: Value[]): Value {
    const [head, ...args] = command;
    if (head!.kind === 'ident') {
      const fn = this.FUNCTIONS[head!.name];
      if (!fn) throw new TemplateError(`function "${head!.name}" is not in the renderer's subset`);
      return fn(...args.map((a) => this.operand(a, dot, scopes)), ...piped);
    }
    if (args.length || piped.length) throw new TemplateError(`${JSON.stringify(head)} is not a function and takes no arguments`);
    return this.operand(head!, dot, scopes);
  }

  private operand(op: Operand, dot: Value, scopes: Map<string, Value>[]): Value {
    if (op.kind === 'literal') return op.value;
    if (op.kind === 'sub') return this.pipeline(op.pipe, dot, scopes);
    if (op.kind === 'ident') {
      const fn = this.FUNCTIONS[op.name];
      if (!fn) throw new TemplateError(`function "${op.name}" is not in the renderer's subset`);
      return fn();
    }
    let v: Value;
    if (op.base === 'dot') v = dot;
    else {
      const scope = [...scopes].reverse().find((s) => s.has(op.base));
      if (!scope) throw new TemplateError(`undefined variable ${op.base}`);
      v = scope.get(op.base);
    }
    let walked = op.base === 'dot' ? '' : op.base;
    for (const key of op.path) {
      if (v === undefined || v === null) throw new TemplateError(`nil pointer evaluating ${walked || '.'}.${key}`);
      if (!isMap(v)) throw new TemplateError(`can't evaluate field ${key} in ${walked || '.'} (not a map)`);
      v = v[key];
      walked += `.${key}`;
    }
    return v;
  }
}

/** Values merged as Helm does: maps key by key, anything else replaced, a null removes the key. */
export function mergeValues(base: Value, override: Value): Value {
  if (!isMap(base) || !isMap(override)) return override === undefined ? base : override;
  const out: Record<string, Value> = { ...base };
  for (const [k, v] of Object.entries(override)) {
    if (v === null) delete out[k];
    else out[k] = mergeValues(base[k], v);
  }
  return out;
}

export interface RenderedChart {
  /** Every object the chart's templates produce, with the file it came from. */
  objects: { source: string; object: Record<string, any> }[];
  notes: string;
}

export interface RenderOptions {
  releaseName?: string;
  namespace?: string;
  /** Values over the chart's values.yaml (as `-f` / `--set` would give). */
  values?: Record<string, Value>;
}

/** `helm template` of a chart directory, in the subset described above. */
export function renderChart(chartDir: string, opts: RenderOptions = {}): RenderedChart {
  const chart = parseYaml(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as Record<string, Value>;
  const capitalised = Object.fromEntries(Object.entries(chart).map(([k, v]) => [k[0]!.toUpperCase() + k.slice(1), v]));
  const values = mergeValues(parseYaml(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) ?? {}, opts.values ?? {});
  const renderer = new Renderer();
  const dir = join(chartDir, 'templates');
  const files = readdirSync(dir).sort();
  const parsed = files.map((f) => ({ file: f, nodes: parseFile(readFileSync(join(dir, f), 'utf8'), `templates/${f}`, renderer.defines) }));
  const top = (file: string) => ({
    Values: values,
    Chart: capitalised,
    Release: { Name: opts.releaseName ?? 'omnistock', Namespace: opts.namespace ?? 'default', Service: 'Helm', IsInstall: true, IsUpgrade: false },
    Template: { Name: `${String(chart.name)}/templates/${file}`, BasePath: `${String(chart.name)}/templates` },
  });
  const objects: RenderedChart['objects'] = [];
  let notes = '';
  for (const { file, nodes } of parsed) {
    if (file.startsWith('_')) continue;
    const data = top(file);
    const text = renderer.run(nodes, data, [new Map([['$', data]])]);
    if (file === 'NOTES.txt') {
      notes = text;
      continue;
    }
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length) throw new TemplateError(`templates/${file}: the rendered YAML does not parse: ${doc.errors[0]!.message}\n${text}`);
      const object = doc.toJS() as Record<string, any> | null;
      if (object) objects.push({ source: `templates/${file}`, object });
    }
  }
  return { objects, notes };
}

/** Renders one template text with `data` as its dot (and `$`), defines and functions as in a chart. */
export function renderTemplate(source: string, data: Record<string, Value>): string {
  const renderer = new Renderer();
  const nodes = parseFile(source, 'template', renderer.defines);
  return renderer.run(nodes, data, [new Map([['$', data]])]);
}
