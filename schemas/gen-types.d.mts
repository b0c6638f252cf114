/** The TypeScript source of dsl/spec.generated.ts, generated from schemas/spec.schema.json. */
export function generateSpecTypes(): Promise<string>;
