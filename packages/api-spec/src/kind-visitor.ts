import type { SchemaNode } from './describe-schema.js';
import { SchemaSupportError } from './describe-schema.js';
import type { BufferRef } from './kinds.js';

/** What to do with each special value found in a call's arguments or result. */
export interface KindVisitor {
  handle?(of: string, value: number): number;
  capability?(of: string, value: number): number;
  bufferRef?(ref: BufferRef): void;
}

/** Rebuilds `value` with every handle and capability replaced by what the visitor returns. */
export type KindMapper = (value: unknown, visitor: KindVisitor) => unknown;

/** Where each kind sits in one schema, found once when the spec is defined. */
export interface KindSites {
  readonly handles: ReadonlySet<string>;
  readonly capabilities: ReadonlySet<string>;
  readonly bufferRefs: boolean;
  /** Visits the special values of a value of this schema; undefined when it has none. */
  readonly map?: KindMapper;
}

/**
 * Compiles a walker for the special values (handles, capabilities, buffer references) of a
 * schema: the host uses it to translate handles, check references and charge costs, with no
 * code per function. Objects are copied only along the paths that hold special values.
 */
export function kindSitesOf(node: SchemaNode, path: string): KindSites {
  const handles = new Set<string>();
  const capabilities = new Set<string>();
  let bufferRefs = false;
  const compile = (n: SchemaNode, at: string): KindMapper | undefined => {
    switch (n.type) {
      case 'handle':
        handles.add(n.of);
        return (v, visitor) => (visitor.handle ? visitor.handle(n.of, v as number) : v);
      case 'capability':
        capabilities.add(n.of);
        return (v, visitor) => (visitor.capability ? visitor.capability(n.of, v as number) : v);
      case 'buffer-ref':
        bufferRefs = true;
        return (v, visitor) => {
          visitor.bufferRef?.(v as BufferRef);
          return v;
        };
      case 'object': {
        const fields = n.fields
          .map(([name, field]) => [name, compile(field, `${at}.${name}`)] as const)
          .filter((f): f is readonly [string, KindMapper] => f[1] !== undefined);
        if (fields.length === 0) return undefined;
        return (v, visitor) => {
          if (v === undefined || v === null) return v;
          const copy = { ...(v as Record<string, unknown>) };
          for (const [name, map] of fields) copy[name] = map(copy[name], visitor);
          return copy;
        };
      }
      case 'array': {
        const element = compile(n.element, `${at}[]`);
        if (!element) return undefined;
        return (v, visitor) => (v as unknown[]).map((e) => element(e, visitor));
      }
      case 'optional':
      case 'nullable':
      case 'default': {
        const inner = compile(n.inner, at);
        if (!inner) return undefined;
        return (v, visitor) => (v === undefined || v === null ? v : inner(v, visitor));
      }
      case 'union':
      case 'record': {
        const found = n.type === 'union' ? n.options : [n.key, n.value];
        if (found.some((o) => compile(o, at) !== undefined)) {
          throw new SchemaSupportError(
            `${at}: handles, capabilities and buffer references cannot sit inside a ${n.type}`,
          );
        }
        return undefined;
      }
      default:
        return undefined;
    }
  };
  const map = compile(node, path);
  return { handles, capabilities, bufferRefs, map };
}
