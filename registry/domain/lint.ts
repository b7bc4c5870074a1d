import {
  Kind,
  type ConstDirectiveNode,
  type DocumentNode,
  type EnumValueDefinitionNode,
  type FieldDefinitionNode,
  type InputValueDefinitionNode,
  type TypeDefinitionNode,
  type TypeExtensionNode,
} from 'graphql';

/**
 * The registry's lint of a proposed subgraph SDL (pure: the service supplies the dates and usage it
 * needs). Rules:
 * - DESCRIPTION: every type, field, input field and argument has a description.
 * - TYPE_NAME / FIELD_NAME / ARGUMENT_NAME / ENUM_VALUE_NAME: PascalCase types, camelCase fields and
 *   arguments, UPPER_SNAKE enum values.
 * - INPUT_SUFFIX: input types end with `Input`.
 * - DEPRECATION_REASON: a `@deprecated` reason names a replacement (``Use `x`.``) and a removal date
 *   (`Removal: YYYY-MM-DD`) at least DEPRECATION_MIN_DAYS after the deprecation was first published.
 * - DEPRECATED_REMOVAL: something deprecated may be removed only on or after its removal date and
 *   when no client used it in the usage window.
 *
 * Exempt: federation and link definitions (names starting with `_`, `link__`, `federation__`,
 * `join__`), built-in scalars, directive definitions, and:
 * - root operation types (Query, Mutation, Subscription) need no type description: several
 *   subgraphs contribute to them and their fields carry the meaning;
 * - type extensions (`extend type`) cannot carry a description in GraphQL syntax;
 * - entity stubs (`@key(..., resolvable: false)`): a reference to another subgraph's entity, which
 *   that subgraph describes;
 * - LEGACY_INPUT_NAMES: input types published before the registry existed whose rename would break
 *   every client declaring a variable of that type.
 */

export type LintRule =
  | 'DESCRIPTION'
  | 'TYPE_NAME'
  | 'FIELD_NAME'
  | 'ARGUMENT_NAME'
  | 'ENUM_VALUE_NAME'
  | 'INPUT_SUFFIX'
  | 'DEPRECATION_REASON'
  | 'DEPRECATED_REMOVAL';

export interface LintIssue {
  rule: LintRule;
  /** Schema coordinate: `Type`, `Type.field`, `Type.field.argument`, `Enum.VALUE`. */
  coordinate: string;
  message: string;
}

/** A deprecation found in an SDL, by coordinate. */
export interface Deprecation {
  coordinate: string;
  reason: string;
  /** Parsed `Removal: YYYY-MM-DD`, when the reason has one. */
  removalDate: string | null;
}

export interface LintContext {
  now: Date;
  /** When the deprecation at a coordinate was first published (undefined: it is new in this SDL). */
  firstDeprecated(coordinate: string): Date | undefined;
  /** The subgraph's current SDL, to find deprecated things this one removes (absent for a new subgraph). */
  previous?: DocumentNode;
  /** Clients' recorded uses of a coordinate within the usage window. */
  usage(coordinate: string): number;
}

export const DEPRECATION_MIN_DAYS = 90;

/** Input types named before the registry; renaming them would break clients' variable declarations. */
export const LEGACY_INPUT_NAMES: ReadonlySet<string> = new Set(['ChannelFilter', 'LocationFilter', 'StockChangedFilter']);

const BUILT_IN_SCALARS = new Set(['String', 'Int', 'Float', 'Boolean', 'ID']);
const ROOT_TYPES = new Set(['Query', 'Mutation', 'Subscription']);
const PASCAL = /^[A-Z][A-Za-z0-9]*$/;
const CAMEL = /^[a-z][A-Za-z0-9]*$/;
const UPPER_SNAKE = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/;
const REPLACEMENT = /\buse\s+`[^`]+`/i;
const REMOVAL = /\bRemoval:\s*(\d{4}-\d{2}-\d{2})\b/;

/** The removal date (`Removal: YYYY-MM-DD`) a deprecation reason gives, or null. */
export function removalDateOf(reason: string): string | null {
  return REMOVAL.exec(reason)?.[1] ?? null;
}
const DAY_MS = 24 * 60 * 60 * 1000;

type Definition = TypeDefinitionNode | TypeExtensionNode;

function isExemptName(name: string): boolean {
  return name.startsWith('_') || name.startsWith('link__') || name.startsWith('federation__') || name.startsWith('join__') || BUILT_IN_SCALARS.has(name);
}

function isStub(def: Definition): boolean {
  return (def.directives ?? []).some(
    (d) =>
      d.name.value === 'key' &&
      (d.arguments ?? []).some((a) => a.name.value === 'resolvable' && a.value.kind === Kind.BOOLEAN && !a.value.value),
  );
}

function isExtension(def: Definition): def is TypeExtensionNode {
  return def.kind.endsWith('_EXTENSION');
}

function typeDefinitions(doc: DocumentNode): Definition[] {
  return doc.definitions.filter(
    (d): d is Definition =>
      d.kind === Kind.OBJECT_TYPE_DEFINITION ||
      d.kind === Kind.OBJECT_TYPE_EXTENSION ||
      d.kind === Kind.INTERFACE_TYPE_DEFINITION ||
      d.kind === Kind.INTERFACE_TYPE_EXTENSION ||
      d.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION ||
      d.kind === Kind.INPUT_OBJECT_TYPE_EXTENSION ||
      d.kind === Kind.ENUM_TYPE_DEFINITION ||
      d.kind === Kind.ENUM_TYPE_EXTENSION ||
      d.kind === Kind.UNION_TYPE_DEFINITION ||
      d.kind === Kind.UNION_TYPE_EXTENSION ||
      d.kind === Kind.SCALAR_TYPE_DEFINITION ||
      d.kind === Kind.SCALAR_TYPE_EXTENSION,
  );
}

function deprecatedReason(directives: readonly ConstDirectiveNode[] | undefined): string | null {
  const d = directives?.find((x) => x.name.value === 'deprecated');
  if (!d) return null;
  const arg = d.arguments?.find((a) => a.name.value === 'reason');
  // graphql-js's default reason when none is given.
  return arg && arg.value.kind === Kind.STRING ? arg.value.value : 'No longer supported';
}

function fieldsOf(def: Definition): readonly (FieldDefinitionNode | InputValueDefinitionNode)[] {
  return 'fields' in def && def.fields ? def.fields : [];
}

function valuesOf(def: Definition): readonly EnumValueDefinitionNode[] {
  return def.kind === Kind.ENUM_TYPE_DEFINITION || def.kind === Kind.ENUM_TYPE_EXTENSION ? (def.values ?? []) : [];
}

/** Every deprecation in an SDL: fields, arguments, input fields and enum values. */
export function deprecationsOf(doc: DocumentNode): Deprecation[] {
  const out: Deprecation[] = [];
  const add = (coordinate: string, reason: string | null) => {
    if (reason !== null) out.push({ coordinate, reason, removalDate: removalDateOf(reason) });
  };
  for (const def of typeDefinitions(doc)) {
    const type = def.name.value;
    for (const field of fieldsOf(def)) {
      add(`${type}.${field.name.value}`, deprecatedReason(field.directives));
      if (field.kind === Kind.FIELD_DEFINITION) {
        for (const arg of field.arguments ?? []) add(`${type}.${field.name.value}.${arg.name.value}`, deprecatedReason(arg.directives));
      }
    }
    for (const value of valuesOf(def)) add(`${type}.${value.name.value}`, deprecatedReason(value.directives));
  }
  return out;
}

/** Every coordinate an SDL defines (types, fields, arguments, input fields, enum values). */
export function coordinatesOf(doc: DocumentNode): Set<string> {
  const out = new Set<string>();
  for (const def of typeDefinitions(doc)) {
    const type = def.name.value;
    out.add(type);
    for (const field of fieldsOf(def)) {
      out.add(`${type}.${field.name.value}`);
      if (field.kind === Kind.FIELD_DEFINITION) for (const arg of field.arguments ?? []) out.add(`${type}.${field.name.value}.${arg.name.value}`);
    }
    for (const value of valuesOf(def)) out.add(`${type}.${value.name.value}`);
  }
  return out;
}

function validDate(value: string): Date | null {
  const date = new Date(`${value}T00:00:00Z`);
  return Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== value ? null : date;
}

function checkDeprecation(issues: LintIssue[], coordinate: string, reason: string, ctx: LintContext): void {
  if (!REPLACEMENT.test(reason)) {
    issues.push({ rule: 'DEPRECATION_REASON', coordinate, message: `${coordinate}: the deprecation reason must name a replacement, e.g. "Use \`newField\`. Removal: 2027-03-01"` });
  }
  const removal = REMOVAL.exec(reason)?.[1];
  const date = removal ? validDate(removal) : null;
  if (!date) {
    issues.push({ rule: 'DEPRECATION_REASON', coordinate, message: `${coordinate}: the deprecation reason must give a removal date as "Removal: YYYY-MM-DD"` });
    return;
  }
  const since = ctx.firstDeprecated(coordinate) ?? ctx.now;
  const earliest = new Date(Date.UTC(since.getUTCFullYear(), since.getUTCMonth(), since.getUTCDate()) + DEPRECATION_MIN_DAYS * DAY_MS);
  if (date < earliest) {
    issues.push({
      rule: 'DEPRECATION_REASON',
      coordinate,
      message: `${coordinate}: the removal date ${removal} must be at least ${DEPRECATION_MIN_DAYS} days after the deprecation was first published (${since.toISOString().slice(0, 10)}), so ${earliest.toISOString().slice(0, 10)} or later`,
    });
  }
}

/** Lints a proposed subgraph SDL; an empty list means it passes. */
export function lintSubgraph(doc: DocumentNode, ctx: LintContext): LintIssue[] {
  const issues: LintIssue[] = [];
  const need = (rule: LintRule, coordinate: string, message: string) => issues.push({ rule, coordinate, message: `${coordinate}: ${message}` });
  const described = (node: { description?: { value: string } | undefined }) => !!node.description?.value.trim();

  for (const def of typeDefinitions(doc)) {
    const type = def.name.value;
    if (isExemptName(type)) continue;
    const stub = isStub(def);
    if (!PASCAL.test(type)) need('TYPE_NAME', type, 'type names are PascalCase');
    if (!stub && !isExtension(def) && !ROOT_TYPES.has(type) && !described(def)) need('DESCRIPTION', type, 'the type needs a description');
    const isInput = def.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION || def.kind === Kind.INPUT_OBJECT_TYPE_EXTENSION;
    if (isInput && !type.endsWith('Input') && !LEGACY_INPUT_NAMES.has(type)) need('INPUT_SUFFIX', type, 'input type names end with `Input`');

    for (const field of fieldsOf(def)) {
      const coordinate = `${type}.${field.name.value}`;
      if (field.name.value.startsWith('_')) continue;
      if (!CAMEL.test(field.name.value)) need('FIELD_NAME', coordinate, 'field names are camelCase');
      if (!stub && !described(field)) need('DESCRIPTION', coordinate, 'the field needs a description');
      const reason = deprecatedReason(field.directives);
      if (reason !== null) checkDeprecation(issues, coordinate, reason, ctx);
      if (field.kind !== Kind.FIELD_DEFINITION) continue;
      for (const arg of field.arguments ?? []) {
        const argCoordinate = `${coordinate}.${arg.name.value}`;
        if (!CAMEL.test(arg.name.value)) need('ARGUMENT_NAME', argCoordinate, 'argument names are camelCase');
        if (!stub && !described(arg)) need('DESCRIPTION', argCoordinate, 'the argument needs a description');
        const argReason = deprecatedReason(arg.directives);
        if (argReason !== null) checkDeprecation(issues, argCoordinate, argReason, ctx);
      }
    }
    for (const value of valuesOf(def)) {
      const coordinate = `${type}.${value.name.value}`;
      if (!UPPER_SNAKE.test(value.name.value)) need('ENUM_VALUE_NAME', coordinate, 'enum values are UPPER_SNAKE_CASE');
      const reason = deprecatedReason(value.directives);
      if (reason !== null) checkDeprecation(issues, coordinate, reason, ctx);
    }
  }

  if (ctx.previous) {
    const remaining = coordinatesOf(doc);
    for (const dep of deprecationsOf(ctx.previous)) {
      if (remaining.has(dep.coordinate)) continue;
      const removal = dep.removalDate ? validDate(dep.removalDate) : null;
      if (!removal || ctx.now < removal) {
        need('DEPRECATED_REMOVAL', dep.coordinate, `deprecated, and may be removed only on or after its removal date (${dep.removalDate ?? 'none given'})`);
        continue;
      }
      const uses = ctx.usage(dep.coordinate);
      if (uses > 0) need('DEPRECATED_REMOVAL', dep.coordinate, `deprecated and past its removal date, but clients still used it ${uses} time(s) in the usage window`);
    }
  }
  return issues;
}
