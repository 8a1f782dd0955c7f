import type { z } from 'zod';
import { kindRegistry } from './kinds.js';

/**
 * A canonical, plain-data description of a zod schema: what the fingerprint hashes and what
 * the fixed-layout codec is derived from. Only the schema features a wire API needs are
 * accepted; anything else is refused when the spec is defined, never at call time.
 */
export type SchemaNode =
  | {
      type: 'number';
      int: boolean;
      min: number;
      max: number;
      minExclusive: boolean;
      maxExclusive: boolean;
    }
  | { type: 'bigint'; min: string | null; max: string | null }
  | { type: 'boolean' }
  | { type: 'string'; minLength: number; maxLength: number | null; formats: string[] }
  | { type: 'bytes'; maxLength: number | null }
  | { type: 'enum'; values: string[] }
  | { type: 'literal'; values: Array<string | number | boolean | null> }
  | { type: 'null' }
  | { type: 'void' }
  | { type: 'object'; fields: Array<[string, SchemaNode]> }
  | { type: 'array'; element: SchemaNode; minLength: number; maxLength: number | null }
  | { type: 'optional'; inner: SchemaNode }
  | { type: 'nullable'; inner: SchemaNode }
  | { type: 'default'; inner: SchemaNode; value: unknown }
  | { type: 'union'; options: SchemaNode[] }
  | { type: 'record'; key: SchemaNode; value: SchemaNode }
  | { type: 'handle'; of: string }
  | { type: 'capability'; of: string; max: number }
  | { type: 'buffer-ref' };

/** A schema an API spec cannot use; a TypeError, as every mistake `defineApi` refuses. */
export class SchemaSupportError extends TypeError {
  override readonly name = 'SchemaSupportError';
}

interface CheckDef {
  check: string;
  value?: number | bigint;
  inclusive?: boolean;
  format?: string;
  maximum?: number;
  minimum?: number;
  length?: number;
}

type AnyDef = {
  type: string;
  checks?: Array<{ _zod: { def: CheckDef } }>;
  [key: string]: unknown;
};

const FORMAT_BOUNDS: Record<string, [number, number, boolean]> = {
  safeint: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, true],
  int32: [-(2 ** 31), 2 ** 31 - 1, true],
  uint32: [0, 2 ** 32 - 1, true],
  float32: [-3.4028234663852886e38, 3.4028234663852886e38, false],
  float64: [-Number.MAX_VALUE, Number.MAX_VALUE, false],
};

/** Describes `schema` canonically; `path` names the place in the spec for error messages. */
export function describeSchema(schema: z.ZodType, path: string): SchemaNode {
  const meta = kindRegistry.get(schema);
  if (meta?.kind === 'handle') return { type: 'handle', of: meta.of };
  if (meta?.kind === 'capability') return { type: 'capability', of: meta.of, max: meta.max };
  if (meta?.kind === 'buffer-ref') return { type: 'buffer-ref' };
  if (meta?.kind === 'bytes') return { type: 'bytes', maxLength: meta.maxLength ?? null };

  const def = (schema as unknown as { _zod: { def: AnyDef } })._zod.def;
  const checks = (def.checks ?? []).map((c) => c._zod.def);
  switch (def.type) {
    case 'number':
      return describeNumber(checks, path);
    case 'bigint':
      return describeBigint(checks, path);
    case 'boolean':
      return { type: 'boolean' };
    case 'string': {
      // Formats (regex, uuid, ...) only narrow what is valid: part of the contract, so hashed.
      const formats = checks.filter((c) => c.check === 'string_format').map(formatOf);
      return {
        type: 'string',
        ...lengthBounds(
          checks.filter((c) => c.check !== 'string_format'),
          path,
        ),
        formats,
      };
    }
    case 'enum':
      return {
        type: 'enum',
        values: Object.values(def.entries as Record<string, string>).map(String),
      };
    case 'literal':
      return { type: 'literal', values: def.values as Array<string | number | boolean | null> };
    case 'null':
      return { type: 'null' };
    case 'void':
    case 'undefined':
      return { type: 'void' };
    case 'object': {
      const shape = def.shape as Record<string, z.ZodType>;
      return {
        type: 'object',
        fields: Object.entries(shape).map(([k, v]) => [k, describeSchema(v, `${path}.${k}`)]),
      };
    }
    case 'array':
      return {
        type: 'array',
        element: describeSchema(def.element as z.ZodType, `${path}[]`),
        ...lengthBounds(checks, path),
      };
    case 'optional':
      return { type: 'optional', inner: describeSchema(def.innerType as z.ZodType, path) };
    case 'nullable':
      return { type: 'nullable', inner: describeSchema(def.innerType as z.ZodType, path) };
    case 'default': {
      const value = typeof def.defaultValue === 'function' ? undefined : def.defaultValue;
      return { type: 'default', inner: describeSchema(def.innerType as z.ZodType, path), value };
    }
    case 'union':
      return {
        type: 'union',
        options: (def.options as z.ZodType[]).map((o, i) => describeSchema(o, `${path}|${i}`)),
      };
    case 'record':
      return {
        type: 'record',
        key: describeSchema(def.keyType as z.ZodType, `${path}{key}`),
        value: describeSchema(def.valueType as z.ZodType, `${path}{value}`),
      };
  }
  throw new SchemaSupportError(
    `${path}: zod type '${def.type}' is not supported in an API spec (use numbers, bigints, booleans, strings, bytes(), enums, literals, objects, arrays, optional, nullable, default, unions, records, handle(), capability(), bufferRef())`,
  );
}

function describeNumber(checks: CheckDef[], path: string): SchemaNode {
  let min = Number.NEGATIVE_INFINITY;
  let max = Number.POSITIVE_INFINITY;
  let minExclusive = false;
  let maxExclusive = false;
  let int = false;
  for (const c of checks) {
    if (c.check === 'number_format' && c.format) {
      const bounds = FORMAT_BOUNDS[c.format];
      if (!bounds)
        throw new SchemaSupportError(`${path}: number format '${c.format}' is not supported`);
      [min, max] = [Math.max(min, bounds[0]), Math.min(max, bounds[1])];
      int ||= bounds[2];
    } else if (c.check === 'greater_than' && typeof c.value === 'number') {
      if (c.value > min || (c.value === min && !c.inclusive)) {
        min = c.value;
        minExclusive = !c.inclusive;
      }
    } else if (c.check === 'less_than' && typeof c.value === 'number') {
      if (c.value < max || (c.value === max && !c.inclusive)) {
        max = c.value;
        maxExclusive = !c.inclusive;
      }
    } else {
      throw new SchemaSupportError(`${path}: number check '${c.check}' is not supported`);
    }
  }
  return { type: 'number', int, min, max, minExclusive, maxExclusive };
}

function describeBigint(checks: CheckDef[], path: string): SchemaNode {
  let min: bigint | null = null;
  let max: bigint | null = null;
  for (const c of checks) {
    if (typeof c.value !== 'bigint') {
      throw new SchemaSupportError(`${path}: bigint check '${c.check}' is not supported`);
    }
    if (c.check === 'greater_than') min = c.inclusive ? c.value : c.value + 1n;
    else if (c.check === 'less_than') max = c.inclusive ? c.value : c.value - 1n;
    else throw new SchemaSupportError(`${path}: bigint check '${c.check}' is not supported`);
  }
  return { type: 'bigint', min: min?.toString() ?? null, max: max?.toString() ?? null };
}

function formatOf(check: CheckDef): string {
  const pattern = (check as { pattern?: RegExp }).pattern;
  return pattern ? `${check.format}:${pattern.source}/${pattern.flags}` : String(check.format);
}

function lengthBounds(checks: CheckDef[], path: string) {
  let minLength = 0;
  let maxLength: number | null = null;
  for (const c of checks) {
    if (c.check === 'max_length' && c.maximum !== undefined) maxLength = c.maximum;
    else if (c.check === 'min_length' && c.minimum !== undefined) minLength = c.minimum;
    else if (c.check === 'length_equals' && c.length !== undefined) {
      minLength = c.length;
      maxLength = c.length;
    } else throw new SchemaSupportError(`${path}: length check '${c.check}' is not supported`);
  }
  return { minLength, maxLength };
}

/** Stable JSON of a schema node (bigints and non-finite numbers spelt out). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (typeof v === 'bigint') return `${v}n`;
    if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
    return v;
  });
}
