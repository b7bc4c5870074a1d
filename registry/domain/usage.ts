import {
  getNamedType,
  isInputObjectType,
  TypeInfo,
  typeFromAST,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';

/**
 * The schema coordinates an operation document uses, the vocabulary of usage records and of the
 * checks that read them:
 * - `Type.field` for every selected field, and `Type` for its parent and its named return type;
 * - `Type.field.argument` for every argument passed, and `Type` for the argument's named type;
 * - `Type.field.argument#omitted` for every argument of a selected field the operation left out
 *   (making it required, or changing its default, reaches exactly those operations);
 * - `Input.field` for every input field written as a literal;
 * - `Type` for fragment type conditions and for every variable's type, with every input and enum
 *   type reachable from it (a variable's value may set any of them).
 * Introspection fields (`__typename`, `__schema`) are not recorded.
 */
/** The usage coordinate of operations that select a field without passing `argument` (`Type.field.argument`). */
export const omittedCoordinate = (argument: string) => `${argument}#omitted`;

/** The field (`Type.field`) of an omitted-argument coordinate, or null for any other coordinate. */
export function fieldOfOmitted(coordinate: string): string | null {
  if (!coordinate.endsWith('#omitted')) return null;
  return coordinate.split('.').slice(0, 2).join('.');
}

export function coordinatesOfDocument(schema: GraphQLSchema, document: DocumentNode, operationName?: string | null): string[] {
  const out = new Set<string>();
  const typeInfo = new TypeInfo(schema);
  const addType = (type: GraphQLNamedType | null | undefined) => {
    if (type && !type.name.startsWith('__')) out.add(type.name);
  };
  const addReachableInputs = (type: GraphQLNamedType | null | undefined, seen = new Set<string>()) => {
    if (!type || seen.has(type.name)) return;
    seen.add(type.name);
    addType(type);
    if (isInputObjectType(type)) for (const field of Object.values(type.getFields())) addReachableInputs(getNamedType(field.type), seen);
  };
  // Only the executed operation (and every fragment, which it may spread) counts.
  const operations = document.definitions.filter((d) => d.kind === 'OperationDefinition');
  const selected =
    operationName != null ? operations.find((o) => o.kind === 'OperationDefinition' && o.name?.value === operationName) : operations.length === 1 ? operations[0] : undefined;
  const definitions = document.definitions.filter((d) => d.kind !== 'OperationDefinition' || d === selected);

  visit(
    { ...document, definitions },
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        const parent = typeInfo.getParentType();
        if (!parent || node.name.value.startsWith('__')) return;
        out.add(parent.name);
        out.add(`${parent.name}.${node.name.value}`);
        addType(getNamedType(typeInfo.getType() ?? undefined));
        const passed = new Set(node.arguments?.map((a) => a.name.value));
        for (const arg of typeInfo.getFieldDef()?.args ?? []) {
          if (!passed.has(arg.name)) out.add(omittedCoordinate(`${parent.name}.${node.name.value}.${arg.name}`));
        }
      },
      Argument(node) {
        const parent = typeInfo.getParentType();
        const field = typeInfo.getFieldDef();
        if (!parent || !field || field.name.startsWith('__')) return;
        out.add(`${parent.name}.${field.name}.${node.name.value}`);
        addType(getNamedType(typeInfo.getInputType() ?? undefined));
      },
      ObjectField(node) {
        const parent = getNamedType(typeInfo.getParentInputType() ?? undefined);
        if (parent && isInputObjectType(parent)) {
          out.add(`${parent.name}.${node.name.value}`);
          addType(getNamedType(typeInfo.getInputType() ?? undefined));
        }
      },
      InlineFragment(node) {
        if (node.typeCondition) addType(schema.getType(node.typeCondition.name.value));
      },
      FragmentDefinition(node) {
        addType(schema.getType(node.typeCondition.name.value));
      },
      VariableDefinition(node) {
        const type = typeFromAST(schema, node.type);
        addReachableInputs(type ? getNamedType(type) : undefined);
      },
    }),
  );
  return [...out].sort();
}

/** Uses of one coordinate by one client's operation, over the usage window. */
export interface UsageRow {
  coordinate: string;
  clientId: string;
  operationHash: string;
  operationName: string;
  count: number;
  lastSeen: Date;
  /** A client's registered (trusted) document rather than recorded traffic: it counts whatever the usage window. */
  registered?: boolean;
}
