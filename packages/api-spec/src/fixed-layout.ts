import type { SchemaNode } from './describe-schema.js';
import { SchemaSupportError } from './describe-schema.js';
import { VrdmaError } from './errors.js';

/**
 * A fixed-layout binary codec derived from a schema: every value of the schema takes exactly
 * `size` bytes, little-endian, fields in declaration order, no padding. `read` validates as
 * it decodes (the bounds come from the schema, compiled once), so the host needs no zod in
 * the hot loop; `write` validates too, so nothing is silently truncated.
 */
export interface FixedLayout<T = unknown> {
  readonly size: number;
  write(view: DataView, at: number, value: T): void;
  read(view: DataView, at: number): T;
}

/** Most elements an array may have in a fixed layout (its count travels as u16). */
export const MAX_FIXED_ARRAY = 0xffff;

/** Derives the layout of `node`; throws SchemaSupportError when it has no fixed size. */
export function fixedLayoutOf(node: SchemaNode, path: string): FixedLayout {
  switch (node.type) {
    case 'number':
      return numberLayout(node, path);
    case 'bigint':
      return bigintLayout(node, path);
    case 'handle':
      return numberLayout(intNode(1, 0xffff_ffff), path);
    case 'capability':
      // Up to 32 bits as u32; a 53-bit one as an f64, exact for every integer it may hold.
      return numberLayout(intNode(0, node.max), path);
    case 'buffer-ref':
      return objectLayout(
        [
          ['region', intNode(0, 0xffff_ffff)],
          ['length', intNode(0, 0xffff_ffff)],
          ['offset', intNode(0, 2 ** 48 - 1)],
        ],
        path,
      );
    case 'boolean':
      return booleanLayout(path);
    case 'enum':
      return choiceLayout(node.values, path);
    case 'literal':
      return choiceLayout(node.values, path);
    case 'null':
      return constantLayout(null);
    case 'void':
      return constantLayout(undefined);
    case 'object':
      return objectLayout(node.fields, path);
    case 'array':
      return arrayLayout(node, path);
    case 'optional':
      return presenceLayout(fixedLayoutOf(node.inner, path), undefined, path);
    case 'nullable':
      return presenceLayout(fixedLayoutOf(node.inner, path), null, path);
    case 'default':
      return defaultLayout(fixedLayoutOf(node.inner, path), node.value);
    default:
      throw new SchemaSupportError(
        `${path}: a ${node.type} has no fixed size; data-plane functions take numbers, bigints, booleans, enums, literals, handles, capabilities, buffer references, objects and arrays with a max length`,
      );
  }
}

function intNode(min: number, max: number): NumberNode {
  return { type: 'number', int: true, min, max, minExclusive: false, maxExclusive: false };
}

function invalid(path: string, what: string): VrdmaError {
  return new VrdmaError('INVALID_ARGUMENT', `${path}: ${what}`);
}

type NumberNode = Extract<SchemaNode, { type: 'number' }>;

interface Storage {
  size: number;
  min: number;
  max: number;
  get(view: DataView, at: number): number;
  set(view: DataView, at: number, value: number): void;
}

const STORAGES: Storage[] = [
  { size: 1, min: 0, max: 0xff, get: (v, a) => v.getUint8(a), set: (v, a, x) => v.setUint8(a, x) },
  {
    size: 1,
    min: -0x80,
    max: 0x7f,
    get: (v, a) => v.getInt8(a),
    set: (v, a, x) => v.setInt8(a, x),
  },
  {
    size: 2,
    min: 0,
    max: 0xffff,
    get: (v, a) => v.getUint16(a, true),
    set: (v, a, x) => v.setUint16(a, x, true),
  },
  {
    size: 2,
    min: -0x8000,
    max: 0x7fff,
    get: (v, a) => v.getInt16(a, true),
    set: (v, a, x) => v.setInt16(a, x, true),
  },
  {
    size: 4,
    min: 0,
    max: 0xffff_ffff,
    get: (v, a) => v.getUint32(a, true),
    set: (v, a, x) => v.setUint32(a, x, true),
  },
  {
    size: 4,
    min: -(2 ** 31),
    max: 2 ** 31 - 1,
    get: (v, a) => v.getInt32(a, true),
    set: (v, a, x) => v.setInt32(a, x, true),
  },
];

const FLOAT64: Storage = {
  size: 8,
  min: Number.NEGATIVE_INFINITY,
  max: Number.POSITIVE_INFINITY,
  get: (v, a) => v.getFloat64(a, true),
  set: (v, a, x) => v.setFloat64(a, x, true),
};

function numberLayout(node: NumberNode, path: string): FixedLayout<number> {
  const storage =
    (node.int && STORAGES.find((s) => s.min <= node.min && node.max <= s.max)) || FLOAT64;
  const { min, max, minExclusive, maxExclusive, int } = node;
  // Checks the storage cannot express by itself are the ones compiled in.
  const needsRange =
    storage === FLOAT64 || min > storage.min || max < storage.max || minExclusive || maxExclusive;
  const needsInt = int && storage === FLOAT64;
  const check = (x: number): string | undefined => {
    if (needsInt && !Number.isInteger(x)) return `expected an integer, got ${x}`;
    if (Number.isNaN(x)) return 'expected a number, got NaN';
    if (
      needsRange &&
      (x < min || x > max || (minExclusive && x === min) || (maxExclusive && x === max))
    ) {
      return `${x} is outside ${minExclusive ? '(' : '['}${min}, ${max}${maxExclusive ? ')' : ']'}`;
    }
    return undefined;
  };
  return {
    size: storage.size,
    read(view, at) {
      const x = storage.get(view, at);
      const problem = check(x);
      if (problem) throw invalid(path, problem);
      return x;
    },
    write(view, at, x) {
      if (typeof x !== 'number') throw invalid(path, `expected a number, got ${typeof x}`);
      const problem =
        check(x) ?? (int && !Number.isInteger(x) ? `expected an integer, got ${x}` : undefined);
      if (problem || x < storage.min || x > storage.max)
        throw invalid(path, problem ?? `${x} does not fit`);
      storage.set(view, at, x);
    },
  };
}

function bigintLayout(
  node: Extract<SchemaNode, { type: 'bigint' }>,
  path: string,
): FixedLayout<bigint> {
  const min = node.min === null ? -(1n << 63n) : BigInt(node.min);
  const max = node.max === null ? (1n << 64n) - 1n : BigInt(node.max);
  const unsigned = min >= 0n;
  if (!unsigned && max > (1n << 63n) - 1n) {
    throw new SchemaSupportError(
      `${path}: a bigint spanning [${min}, ${max}] does not fit 64 bits`,
    );
  }
  const check = (x: bigint) =>
    x < min || x > max ? `${x} is outside [${min}, ${max}]` : undefined;
  return {
    size: 8,
    read(view, at) {
      const x = unsigned ? view.getBigUint64(at, true) : view.getBigInt64(at, true);
      const problem = check(x);
      if (problem) throw invalid(path, problem);
      return x;
    },
    write(view, at, x) {
      if (typeof x !== 'bigint') throw invalid(path, `expected a bigint, got ${typeof x}`);
      const problem = check(x);
      if (problem) throw invalid(path, problem);
      if (unsigned) view.setBigUint64(at, x, true);
      else view.setBigInt64(at, x, true);
    },
  };
}

function booleanLayout(path: string): FixedLayout<boolean> {
  return {
    size: 1,
    read(view, at) {
      const b = view.getUint8(at);
      if (b > 1) throw invalid(path, `boolean byte is ${b}`);
      return b === 1;
    },
    write(view, at, x) {
      if (typeof x !== 'boolean') throw invalid(path, `expected a boolean, got ${typeof x}`);
      view.setUint8(at, x ? 1 : 0);
    },
  };
}

function choiceLayout(values: ReadonlyArray<unknown>, path: string): FixedLayout {
  if (values.length === 1) return constantLayout(values[0], path);
  if (values.length > 0xff) throw new SchemaSupportError(`${path}: more than 255 choices`);
  const index = new Map(values.map((v, i) => [v, i]));
  return {
    size: 1,
    read(view, at) {
      const i = view.getUint8(at);
      if (i >= values.length)
        throw invalid(path, `choice index ${i} is not one of ${values.length}`);
      return values[i];
    },
    write(view, at, x) {
      const i = index.get(x);
      if (i === undefined) throw invalid(path, `${String(x)} is not one of ${values.join(', ')}`);
      view.setUint8(at, i);
    },
  };
}

function constantLayout(value: unknown, path?: string): FixedLayout {
  return {
    size: 0,
    read: () => value,
    write(_view, _at, x) {
      if (path !== undefined && x !== value) throw invalid(path, `expected ${String(value)}`);
    },
  };
}

function objectLayout(
  fields: ReadonlyArray<readonly [string, SchemaNode]>,
  path: string,
): FixedLayout {
  const parts = fields.map(([name, node]) => ({
    name,
    layout: fixedLayoutOf(node, `${path}.${name}`),
  }));
  const offsets: number[] = [];
  let size = 0;
  for (const part of parts) {
    offsets.push(size);
    size += part.layout.size;
  }
  return {
    size,
    read(view, at) {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < parts.length; i++) {
        const part = parts[i]!;
        out[part.name] = part.layout.read(view, at + offsets[i]!);
      }
      return out;
    },
    write(view, at, value) {
      if (typeof value !== 'object' || value === null) throw invalid(path, 'expected an object');
      const record = value as Record<string, unknown>;
      for (let i = 0; i < parts.length; i++) {
        const part = parts[i]!;
        part.layout.write(view, at + offsets[i]!, record[part.name]);
      }
    },
  };
}

function arrayLayout(
  node: Extract<SchemaNode, { type: 'array' }>,
  path: string,
): FixedLayout<unknown[]> {
  const { maxLength, minLength } = node;
  if (maxLength === null || maxLength > MAX_FIXED_ARRAY) {
    throw new SchemaSupportError(
      `${path}: an array on the data plane needs .max(n) with n <= ${MAX_FIXED_ARRAY}`,
    );
  }
  const element = fixedLayoutOf(node.element, `${path}[]`);
  return {
    size: 2 + maxLength * element.size,
    read(view, at) {
      const count = view.getUint16(at, true);
      if (count > maxLength || count < minLength) {
        throw invalid(path, `array length ${count} is outside [${minLength}, ${maxLength}]`);
      }
      const out = new Array(count);
      for (let i = 0; i < count; i++) out[i] = element.read(view, at + 2 + i * element.size);
      return out;
    },
    write(view, at, value) {
      if (!Array.isArray(value)) throw invalid(path, 'expected an array');
      if (value.length > maxLength || value.length < minLength) {
        throw invalid(path, `array length ${value.length} is outside [${minLength}, ${maxLength}]`);
      }
      view.setUint16(at, value.length, true);
      for (let i = 0; i < value.length; i++)
        element.write(view, at + 2 + i * element.size, value[i]);
    },
  };
}

function presenceLayout(inner: FixedLayout, absent: null | undefined, path: string): FixedLayout {
  return {
    size: 1 + inner.size,
    read(view, at) {
      const flag = view.getUint8(at);
      if (flag > 1) throw invalid(path, `presence byte is ${flag}`);
      return flag === 0 ? absent : inner.read(view, at + 1);
    },
    write(view, at, value) {
      if (value === absent) {
        view.setUint8(at, 0);
        return;
      }
      view.setUint8(at, 1);
      inner.write(view, at + 1, value);
    },
  };
}

function defaultLayout(inner: FixedLayout, fallback: unknown): FixedLayout {
  return {
    size: inner.size,
    read: inner.read,
    write: (view, at, value) => inner.write(view, at, value === undefined ? fallback : value),
  };
}
