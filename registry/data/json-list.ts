/** A list of strings kept as JSON text in one column (TypeORM column transformer). */
export const jsonList = {
  to: (value: string[] | undefined) => (value === undefined ? undefined : JSON.stringify(value)),
  from: (value: string) => JSON.parse(value) as string[],
};
