import { createRequire } from 'node:module';
import {
  assert,
  ERRORS,
  isCompositeType,
  isCustomScalarType,
  isEnumType,
  isListType,
  isNonNullType,
  isObjectType,
  isSubtype,
  typenameFieldName,
  Variable,
  type CompositeType,
  type Directive,
  type Operation,
  type Schema,
  type Selection,
  type SelectionSet,
  type Type,
} from '@apollo/federation-internals';
import type { GatewayExecutor } from '@apollo/server-gateway-interface';
import type { DocumentNode, GraphQLError, GraphQLSchema } from 'graphql';

/** What @apollo/gateway's result shaping (`computeResponse` in its resultShaping module) is called with and returns. */
interface ShapingArgs {
  operation: Operation;
  variables: Record<string, unknown> | undefined;
  input: Record<string, unknown> | null | undefined;
  introspectionHandling: (selection: Selection) => unknown;
}
interface Shaped {
  data: Record<string, unknown> | null | undefined;
  errors: GraphQLError[];
}
type ComputeResponse = (args: ShapingArgs) => Shaped;

/** A `@skip`/`@include` on a selection, and its `if`: a literal, or the variable holding it. */
interface Condition {
  directive: Directive<any, { if: boolean | Variable }>;
  if: boolean | Variable;
}

interface FieldStep {
  field: true;
  responseName: string;
  /** `__typename` (under any alias): answered from the schema, not shaped. */
  typename: boolean;
  /** An introspection field (`__schema`, `__type`): answered by the gateway itself. */
  introspection: Selection | null;
  type: TypeStep;
  selections: Step[] | undefined;
  skip: Condition | undefined;
  include: Condition | undefined;
}
interface FragmentStep {
  field: false;
  typeCondition: CompositeType | undefined;
  selections: Step[];
  skip: Condition | undefined;
  include: Condition | undefined;
}
type Step = FieldStep | FragmentStep;

const NON_NULL = 0;
const LIST = 1;
const COMPOSITE = 2;
const LEAF = 3;
type TypeStep =
  | { kind: typeof NON_NULL; type: Type; of: TypeStep }
  | { kind: typeof LIST; type: Type; of: TypeStep }
  | { kind: typeof COMPOSITE; type: CompositeType }
  | { kind: typeof LEAF; type: Type; valid: (value: unknown) => boolean };

/** An operation's result shaping, compiled once: its selections and types resolved, so a response walks plain objects. */
interface Shaper {
  schema: Schema;
  root: CompositeType;
  selections: Step[];
  /** The operation's variable defaults (the values `@skip`/`@include` read when a request omits them); null without conditions. */
  defaults: Record<string, unknown> | null;
}

const INTEGER = /^-?(?:0|[1-9][0-9]*)$/;

/**
 * An output object: as `Object.create(null)`'s (what @apollo/gateway makes), it inherits nothing, so
 * a response name such as `constructor` or `__proto__` (an alias) is only ever its own member. Made
 * by a constructor whose prototype is such an object, it stays a fast object with a hidden class,
 * where V8 keeps `Object.create(null)`'s in dictionary mode: slower to fill and to serialize.
 */
const OutputObject = function (this: object) {} as unknown as new () => Record<string, unknown>;
OutputObject.prototype = Object.create(null);
const hasOwn = Object.prototype.hasOwnProperty;

/**
 * `@apollo/gateway`'s result shaping, compiled per operation. Once a query's fetches are back, the
 * gateway walks the merged answer against the operation: it keeps only the fields asked for, under
 * their aliases, checks each leaf against its type and bubbles nulls up to the nearest nullable
 * field, with an error per violation. It does that by interpreting the operation anew for every
 * response, through `@apollo/federation-internals`' exports (a getter per call) and a result object
 * per value: for a three-hop answer of 73 KB it was a quarter of the gateway's CPU.
 *
 * This does the same walk from steps compiled once per (schema, document, operation): every
 * selection's response name, type, and `@skip`/`@include` condition resolved ahead, and no
 * allocation but the output. The rules, the errors (message, path, `INVALID_GRAPHQL`) and the order
 * in which they are found are `@apollo/gateway` 2.14's, checked against it by result-shaping.test.ts.
 * An execution this wrapper did not see (no compiled steps for it) is shaped by the original.
 */
export class CompiledResultShaping {
  private readonly slots = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, Map<string, { shaper?: Shaper }>>>();
  /** The compiled steps of each execution in progress, by its (fresh) variables object: what `computeResponse` is given. */
  private readonly executing = new WeakMap<object, { shaper?: Shaper }>();

  constructor(/** @apollo/gateway's own, for executions not wrapped here. */ readonly original: ComputeResponse) {}

  /** Installs it in `@apollo/gateway` (whose executor calls its resultShaping module's export at each response). */
  static install(): CompiledResultShaping {
    const module = createRequire(import.meta.url)('@apollo/gateway/dist/resultShaping.js') as { computeResponse: ComputeResponse };
    // @apollo/gateway is pinned to one version (package.json); another one must still have this export to be served.
    if (typeof module.computeResponse !== 'function') throw new Error('@apollo/gateway/dist/resultShaping.js exports no computeResponse: this @apollo/gateway is not the version result-shaping.ts was written for');
    const installed = (module.computeResponse as ComputeResponse & { compiled?: CompiledResultShaping }).compiled;
    if (installed) return installed;
    const shaping = new CompiledResultShaping(module.computeResponse);
    const computeResponse = Object.assign((args: ShapingArgs) => shaping.computeResponse(args), { compiled: shaping });
    module.computeResponse = computeResponse;
    return shaping;
  }

  /** The gateway's executor, with each execution's compiled steps at hand for its result shaping. */
  wrap(executor: GatewayExecutor): GatewayExecutor {
    return (requestContext) => {
      let byDocument = this.slots.get(requestContext.schema);
      if (!byDocument) this.slots.set(requestContext.schema, (byDocument = new WeakMap()));
      let byOperation = byDocument.get(requestContext.document);
      if (!byOperation) byDocument.set(requestContext.document, (byOperation = new Map()));
      const name = requestContext.operationName ?? '';
      let slot = byOperation.get(name);
      if (!slot) byOperation.set(name, (slot = {}));
      // A variables object of this execution's own (the gateway's copy of the request is its own too), so no other execution's steps are found by it.
      const variables = { ...requestContext.request.variables };
      requestContext.request.variables = variables;
      this.executing.set(variables, slot);
      return executor(requestContext);
    };
  }

  computeResponse(args: ShapingArgs): Shaped {
    const slot = args.variables ? this.executing.get(args.variables) : undefined;
    if (!slot) return this.original(args);
    const shaper = (slot.shaper ??= compile(args.operation));
    return shape(shaper, args);
  }
}

function compile(operation: Operation): Shaper {
  const schema = operation.schema();
  const types = new Map<Type, TypeStep>();
  const sets = new Map<SelectionSet, Step[]>();
  let conditional = false;
  const typeStep = (type: Type): TypeStep => {
    let step = types.get(type);
    if (step) return step;
    if (isNonNullType(type)) step = { kind: NON_NULL, type, of: typeStep(type.ofType) };
    else if (isListType(type)) step = { kind: LIST, type, of: typeStep(type.ofType) };
    else if (isCompositeType(type)) step = { kind: COMPOSITE, type };
    else step = { kind: LEAF, type, valid: leafCheck(schema, type) };
    types.set(type, step);
    return step;
  };
  const condition = (directive: Condition['directive'] | undefined): Condition | undefined => {
    if (!directive) return undefined;
    conditional = true;
    return { directive, if: directive.arguments().if };
  };
  const steps = (set: SelectionSet): Step[] => {
    let compiled = sets.get(set);
    if (compiled) return compiled;
    compiled = set.selections().map((selection): Step => {
      const skip = condition(selection.element.appliedDirectivesOf(schema.skipDirective())[0]);
      const include = condition(selection.element.appliedDirectivesOf(schema.includeDirective())[0]);
      if (selection.kind === 'FieldSelection') {
        const field = selection.element;
        return {
          field: true,
          responseName: field.responseName(),
          typename: field.name === typenameFieldName,
          introspection: field.definition.isSchemaIntrospectionField() ? selection : null,
          type: typeStep(field.definition.type!),
          selections: selection.selectionSet ? steps(selection.selectionSet) : undefined,
          skip,
          include,
        };
      }
      return { field: false, typeCondition: selection.element.typeCondition, selections: steps(selection.selectionSet), skip, include };
    });
    sets.set(set, compiled);
    return compiled;
  };
  const selections = steps(operation.selectionSet);
  return { schema, root: schema.schemaDefinition.rootType(operation.rootKind)!, selections, defaults: conditional ? operation.collectDefaultedVariableValues() : null };
}

/** Whether a leaf value is one of its type's: `isValidLeafValue` of @apollo/federation-internals, decided per type once. */
function leafCheck(schema: Schema, type: Type): (value: unknown) => boolean {
  if (isCustomScalarType(type)) return () => true;
  const isBoolean = type === schema.booleanType();
  const isIntOrId = type === schema.intType() || type === schema.idType();
  const isFloat = type === schema.floatType();
  const isInt = type === schema.intType();
  const enumType = isEnumType(type) ? type : null;
  return (value) => {
    if (typeof value === 'boolean') return isBoolean;
    if (typeof value === 'number' && isFinite(value)) return isIntOrId ? INTEGER.test(String(value)) : isFloat;
    if (typeof value === 'string') return enumType ? enumType.value(value) !== undefined : !isBoolean && !isInt && !isFloat;
    return false;
  };
}

/** One response's walk: the schema, the values of its conditions, and the errors found. */
interface Walk {
  schema: Schema;
  variables: Record<string, unknown>;
  errors: GraphQLError[];
  introspection: (selection: Selection) => unknown;
  /** Set by each `update`: the value is invalid (its parent must be null too). */
  invalid: boolean;
  /** Set by each `update`: an error was recorded within the value. */
  hasErrors: boolean;
}

function shape(shaper: Shaper, { variables, input, introspectionHandling }: ShapingArgs): Shaped {
  if (!input) return { data: input, errors: [] };
  const walk: Walk = {
    schema: shaper.schema,
    variables: shaper.defaults ? { __proto__: null, ...shaper.defaults, ...variables } : (variables ?? {}),
    errors: [],
    introspection: introspectionHandling,
    invalid: false,
    hasErrors: false,
  };
  const data = new OutputObject();
  const bubbled = apply(walk, input, shaper.selections, data, [], shaper.root);
  return { data: bubbled ? null : data, errors: walk.errors };
}

function skipped(step: Step, variables: Record<string, unknown>): boolean {
  return (step.skip !== undefined && conditionValue(step.skip, variables)) || (step.include !== undefined && !conditionValue(step.include, variables));
}

function conditionValue(condition: Condition, variables: Record<string, unknown>): boolean {
  const arg = condition.if;
  if (!(arg instanceof Variable)) return arg;
  const value = variables[arg.name];
  if (value === undefined || typeof value !== 'boolean') assert(false, () => `Unexpected value ${value} for variable ${arg} of ${condition.directive}`);
  return value as boolean;
}

/** @returns whether a null bubbles up from here (a non-null field came out null) */
function apply(walk: Walk, input: Record<string, unknown>, selections: Step[], output: Record<string, unknown>, path: (string | number)[], parentType: CompositeType): boolean {
  for (let i = 0; i < selections.length; i++) {
    const step = selections[i]!;
    if (skipped(step, walk.variables)) continue;
    if (step.field) {
      const name = step.responseName;
      const outputValue = output[name];
      if (step.introspection) {
        if (outputValue === undefined) output[name] = walk.introspection(step.introspection);
        continue;
      }
      let inputValue = hasOwn.call(input, name) ? input[name] : undefined;
      if (inputValue === undefined) inputValue = null;
      if (step.typename) {
        if (outputValue === undefined) {
          if (inputValue === null && name !== typenameFieldName) inputValue = input[typenameFieldName] ?? null;
          const type = inputValue !== null && typeof inputValue === 'string' ? (walk.schema.type(inputValue) ?? parentType) : parentType;
          if (!isObjectType(type)) return true;
          output[name] = type.name;
        }
        continue;
      }
      path.push(name);
      output[name] = update(walk, outputValue, step.type, inputValue, step.selections, path, parentType);
      path.pop();
      if (walk.invalid) return true;
    } else {
      const typename = input[typenameFieldName];
      if (typename && typeof typename !== 'string') assert(false, () => `Got unexpected value for __typename: ${typename}`);
      if (typeConditionApplies(walk.schema, step.typeCondition, typename as string | undefined, parentType)) {
        if (apply(walk, input, step.selections, output, path, step.typeCondition ?? parentType)) return true;
      }
    }
  }
  return false;
}

function typeConditionApplies(schema: Schema, typeCondition: CompositeType | undefined, typename: string | undefined, parentType: CompositeType): boolean {
  if (!typeCondition) return true;
  if (typename) {
    const type = schema.type(typename);
    return !!type && isSubtype(typeCondition, type);
  }
  return isSubtype(typeCondition, parentType);
}

function describe(path: (string | number)[], currentType: Type, parentType: CompositeType): string {
  const element = path[path.length - 1];
  assert(element !== undefined, 'Should not have been called on an empty path');
  return typeof element === 'string' ? `field ${parentType}.${element}` : `array element of type ${currentType} at index ${element}`;
}

function invalidGraphQL(walk: Walk, message: string, path: (string | number)[]): void {
  walk.errors.push(ERRORS.INVALID_GRAPHQL.err(message, { path: Array.from(path) }));
}

/** The output value of one field or list element, with `walk.invalid` and `walk.hasErrors` set for the caller. */
function update(walk: Walk, outputValue: unknown, type: TypeStep, inputValue: unknown, selections: Step[] | undefined, path: (string | number)[], parentType: CompositeType): unknown {
  if (inputValue === undefined) assert(false, 'Should not pass undefined for `inputValue` to this method');
  walk.invalid = false;
  walk.hasErrors = false;
  if (outputValue === null || (outputValue !== undefined && !selections)) return outputValue;
  if (type.kind === NON_NULL) {
    const updated = update(walk, outputValue, type.of, inputValue, selections, path, parentType);
    if (updated === null) {
      if (!walk.hasErrors) invalidGraphQL(walk, `Cannot return null for non-nullable ${describe(path, type.of.type, parentType)}.`, path);
      walk.invalid = true;
      walk.hasErrors = true;
      return null;
    }
    walk.invalid = false;
    walk.hasErrors = false;
    return updated;
  }
  if (inputValue === null) return null;
  if (type.kind === LIST) {
    if (!Array.isArray(inputValue)) assert(false, () => `Invalid non-list value ${inputValue} returned by subgraph for list type ${type.type}`);
    if (outputValue !== undefined && !Array.isArray(outputValue)) assert(false, () => `Invalid non-list value ${outputValue} returned by subgraph for list type ${type.type}`);
    const inputs = inputValue as unknown[];
    const outputs = outputValue as unknown[] | undefined;
    if (outputs && inputs.length !== outputs.length) assert(false, () => `[${inputs}].length (${inputs.length}) !== [${outputs}].length (${outputs.length})`);
    const updated = new Array<unknown>(inputs.length);
    let nullify = false;
    let hasErrors = false;
    for (let idx = 0; idx < inputs.length; idx++) {
      path.push(idx);
      updated[idx] = update(walk, outputs ? outputs[idx] : undefined, type.of, inputs[idx], selections, path, parentType);
      path.pop();
      nullify ||= walk.invalid;
      hasErrors ||= walk.hasErrors;
    }
    walk.invalid = false;
    walk.hasErrors = hasErrors;
    return nullify ? null : updated;
  }
  if (type.kind === COMPOSITE) {
    if (!selections) assert(false, () => `Invalid empty selection set for composite type ${type.type}`);
    if (typeof inputValue !== 'object') assert(false, () => `Invalid non-object value ${inputValue} returned by subgraph for composite type ${type.type}`);
    if (outputValue !== undefined && typeof outputValue !== 'object') assert(false, () => `Invalid non-object value ${inputValue} returned by subgraph for composite type ${type.type}`);
    const input = inputValue as Record<string, unknown>;
    const inputTypename = input[typenameFieldName];
    if (inputTypename !== undefined && typeof inputTypename !== 'string') assert(false, () => `Invalid non-string value ${inputTypename} for __typename at ${path}`);
    let objectType: CompositeType = type.type;
    if (inputTypename) {
      const named = walk.schema.type(inputTypename as string);
      if (!named || !isCompositeType(named)) {
        invalidGraphQL(walk, `Invalid __typename found for object at ${describe(path, type.type, parentType)}.`, path);
        walk.hasErrors = true;
        return null;
      }
      objectType = named;
    }
    const output = outputValue === undefined ? new OutputObject() : (outputValue as Record<string, unknown>);
    const bubbled = apply(walk, input, selections!, output, path, objectType);
    walk.invalid = false;
    walk.hasErrors = bubbled;
    return bubbled ? null : output;
  }
  if (outputValue !== undefined) assert(false, () => `Excepted output to be undefined but got ${type.type} for type ${type.type}`);
  const valid = type.valid(inputValue);
  if (!valid) invalidGraphQL(walk, `Invalid value found for ${describe(path, type.type, parentType)}.`, path);
  walk.invalid = false;
  walk.hasErrors = !valid;
  return valid ? inputValue : null;
}
