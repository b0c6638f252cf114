import { INVARIANTS, INVARIANT_NAMES } from '../runtime/check/invariants.js';
import { ARG_TYPES } from '../runtime/vendor/args.js';
import { VENDORS } from '../runtime/vendors/index.js';

/**
 * The parts of schemas/spec.schema.json that are vocabularies of the runtime: entry-point names and their
 * arguments, invariant names. The schema stays the source of truth for the spec's syntax; these `$defs`
 * are written into it from the registries (`npm run gen:schema`), and a test fails when they drift.
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const comment = (registry: string): string => `Generated from ${registry} by \`npm run gen:schema\`; do not edit.`;

export function generatedDefs(): Record<string, Json> {
  const entryPoints = Object.values(VENDORS).flatMap((v) => v.entryPoints);
  return {
    callName: {
      $comment: comment("the vendors' entry-point registries (runtime/vendor/*/entry-points.ts)"),
      type: 'string',
      enum: entryPoints.map((e) => e.name),
    },
    callArgs: {
      $comment: comment("the vendors' entry-point registries (runtime/vendor/*/entry-points.ts)"),
      description: 'The arguments each entry point takes.',
      allOf: entryPoints.map((e) => ({
        if: { type: 'object', required: ['call'], properties: { call: { const: e.name } } },
        then: {
          type: 'object',
          properties: {
            args: {
              type: 'object',
              additionalProperties: false,
              properties: Object.fromEntries(
                Object.entries(e.args).map(([name, def]) => [name, ARG_TYPES[def.type].schema as unknown as Json]),
              ),
            },
          },
        },
      })),
    },
    invariantName: {
      $comment: comment('runtime/check/invariants.ts'),
      description: 'An end-state invariant that can be switched off.',
      enum: INVARIANT_NAMES.filter((n) => !('optIn' in INVARIANTS[n])),
    },
  };
}

/** The schema with its generated `$defs` replaced, as the text the file holds. */
export function withGeneratedDefs(schema: { $defs: Record<string, Json> }): string {
  const defs = { ...schema.$defs, ...generatedDefs() };
  return JSON.stringify({ ...schema, $defs: defs }, null, 2) + '\n';
}
