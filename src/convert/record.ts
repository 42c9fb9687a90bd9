// The ExecutionRecord's definition lives in the emitter package (packages/emitter/src/record.ts),
// shared by producer and ingester. Here: the stored row and the field specs the SQL schema, the row
// builders and test/store/schema-agreement.test.ts derive from it.
import { z } from 'zod';
import { ExecutionRecord } from '@orb-learn/emitter';

export { ERROR_TYPES, ErrorType, ExecutionRecord, identifier, idUuid, NIL_UUID, type ExecutionRecordInput } from '@orb-learn/emitter';

/** A stored row: the record plus where it came from. */
export const ExecutionRow = ExecutionRecord.extend({
  trace_id: z.string().nullable(),
  span_id: z.string().nullable(),
  service_name: z.string().nullable(),
  received_at: z.date(),
});
export type ExecutionRow = z.output<typeof ExecutionRow>;

export type FieldKind = 'uuid' | 'timestamp' | 'string' | 'int' | 'double' | 'bool' | 'enum' | 'json';

export interface FieldSpec {
  name: string;
  kind: FieldKind;
  /** NOT NULL in SQL: the field can never be null once parsed. */
  required: boolean;
  /** A default applies when the input leaves it out. */
  hasDefault: boolean;
}

interface Def {
  type: string;
  innerType?: { _zod: { def: Def } };
  in?: { _zod: { def: Def } };
  format?: string;
  checks?: { _zod: { def: { check: string; format?: string } } }[];
}

function kindOf(schema: { _zod: { def: Def } }): { kind: FieldKind; nullable: boolean; hasDefault: boolean } {
  let def = schema._zod.def;
  let nullable = false;
  let hasDefault = false;
  for (;;) {
    if (def.type === 'nullable' || def.type === 'optional') nullable = true;
    else if (def.type === 'default') hasDefault = true;
    else if (def.type === 'pipe') {
      def = def.in!._zod.def;
      continue;
    } else break;
    def = def.innerType!._zod.def;
  }
  const formats = [def.format, ...(def.checks ?? []).map((c) => c._zod.def.format)];
  let kind: FieldKind;
  switch (def.type) {
    case 'string':
      kind = formats.includes('guid') || formats.includes('uuid') ? 'uuid' : 'string';
      break;
    case 'number':
      kind = formats.includes('safeint') ? 'int' : 'double';
      break;
    case 'boolean':
      kind = 'bool';
      break;
    case 'date':
      kind = 'timestamp';
      break;
    case 'enum':
      kind = 'enum';
      break;
    case 'record':
      kind = 'json';
      break;
    default:
      throw new Error(`unsupported zod type ${def.type}`);
  }
  return { kind, nullable, hasDefault };
}

function fieldsOf(shape: Record<string, unknown>): FieldSpec[] {
  return Object.entries(shape).map(([name, schema]) => {
    const k = kindOf(schema as { _zod: { def: Def } });
    return { name, kind: k.kind, required: !k.nullable, hasDefault: k.hasDefault };
  });
}

/** Record fields added after the executions table was created: SQL appends their columns last. */
const LATER_FIELDS = new Set(['recommendation_id', 'routing_propensity']);

export const RECORD_FIELDS: readonly FieldSpec[] = fieldsOf(ExecutionRecord.shape);
/** In table order: the first record fields, the provenance, then the later fields. */
export const ROW_FIELDS: readonly FieldSpec[] = [
  ...fieldsOf(ExecutionRow.shape).filter((f) => !LATER_FIELDS.has(f.name)),
  ...RECORD_FIELDS.filter((f) => LATER_FIELDS.has(f.name)),
];
