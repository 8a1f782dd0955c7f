import { z } from 'zod';
import { canonicalJson, describeSchema, type SchemaNode } from './describe-schema.js';
import { FRAMEWORK_ERROR_CODES } from './errors.js';
import { fingerprintOf } from './fingerprint.js';
import { type FixedLayout, fixedLayoutOf } from './fixed-layout.js';
import { type KindSites, kindSitesOf } from './kind-visitor.js';
import type { BufferRef } from './kinds.js';
import { type CompletionQueueDefinition, planQueues, type QueuePlan } from './queue-plan.js';
import { planResources, type Releases, type ResourcePlan } from './resources.js';

/** Control-plane calls go over virtio (kicks allowed); data-plane calls over the polled ring. */
export type Plane = 'control' | 'data';

export type ArgsShape = Record<string, z.ZodType>;

/** One function of an API, as the spec author writes it. */
export interface FunctionDefinition<
  Args extends ArgsShape = ArgsShape,
  Result extends z.ZodType = z.ZodType,
  Err extends string = string,
> {
  plane: Plane;
  /** Named arguments; the function takes one object with these fields. */
  args: Args;
  result: Result;
  /** The API error codes this function may return (framework codes are always possible). */
  errors: readonly Err[];
  /** One line for generated docs and error messages. */
  summary?: string;
  /** 'all': a successful call releases every handle and capability the caller holds (a close). */
  releases?: 'all';
  /**
   * What a data-plane call costs the host's fair scheduler; by default the total length of the
   * buffer references in its arguments (0: not scheduled).
   */
  cost?: (args: z.output<z.ZodObject<Args>>) => number;
  /**
   * Data plane: the call is posted. The guest validates its arguments, puts it in its
   * submission ring and returns without waiting for the host; `queue` names the handle argument
   * whose completion queue reports how it ended (see `completionQueues`).
   */
  posted?: { queue: string };
  /**
   * Data plane: the call reaps the completion queue of the handle argument `queue`, at most
   * `max` entries; with `timeoutMs` it waits for one. A guest answers it from its own memory.
   */
  reaps?: { queue: string; max: string; timeoutMs?: string };
}

/** How the host manages one kind of handle, with no code of its own. */
export interface HandleDefinition {
  /** The function that releases a handle of this kind: its arguments hold one such handle. */
  release: string;
  /** Kinds whose handles must be released before this kind's when a guest departs. */
  releasedAfter?: readonly string[];
  /**
   * The argument of the creating functions that gives a handle's size in bytes, charged to the
   * guest's byte quota for as long as the handle lives.
   */
  bytes?: string;
  /**
   * Handles of this kind come from one table of the engine that every tenant shares (see
   * `Engine.capacityOf`): the host gives each guest a share of it, not only its own quota.
   */
  shared?: boolean;
}

/** How the host manages one kind of capability (see `capability()`). */
export interface CapabilityDefinition<Err extends string = string> {
  /** The function that releases a capability of this kind; only its owner may call it. */
  release: string;
  /** The code a release by anyone but the owner fails with. */
  refusal: Err;
  /**
   * Capabilities of this kind come from one table of the engine that every tenant shares (a
   * node's key table): the host gives each guest a share of it (see `Engine.capacityOf`), so
   * guests that each stay within their own quota cannot fill it together.
   */
  shared?: boolean;
}

export type FunctionMap = Record<string, FunctionDefinition>;

export interface ApiDefinition<Fns extends FunctionMap, Err extends string> {
  /** The API's name, e.g. "kv-store": lower-case letters, digits and dashes. */
  name: string;
  /** Bumped on any change; part of the fingerprint. */
  version: number;
  /** Every error code the API may return, beyond the framework's own. */
  errors: readonly Err[];
  functions: Fns;
  /** Every kind of handle the API's results hold: how it is released. */
  handles?: Record<string, HandleDefinition>;
  /** Every kind of capability the API's results hold: how it is released. */
  capabilities?: Record<string, CapabilityDefinition<NoInfer<Err>>>;
  /** Handle kinds that have a completion queue each (see `posted` and `reaps`). */
  completionQueues?: Record<string, CompletionQueueDefinition<NoInfer<Err>>>;
}

/** A function of a defined API, compiled once: ids, schemas, canonical form, layouts. */
export interface CompiledFunction {
  readonly id: number;
  readonly name: string;
  readonly plane: Plane;
  readonly errors: ReadonlySet<string>;
  readonly args: z.ZodObject;
  readonly result: z.ZodType;
  readonly argsNode: SchemaNode;
  readonly resultNode: SchemaNode;
  /** Fixed layouts, present for data-plane functions only. */
  readonly argsLayout?: FixedLayout;
  readonly resultLayout?: FixedLayout;
  /** Handles, capabilities and buffer references in the arguments and in the result. */
  readonly argKinds: KindSites;
  readonly resultKinds: KindSites;
  /** What a successful call releases, if anything. */
  readonly releases?: Releases;
  /** The scheduler's cost of a data-plane call (0 for control-plane calls). */
  cost(args: unknown): number;
  readonly posted?: { readonly queue: string };
  readonly reaps?: { readonly queue: string; readonly max: string; readonly timeoutMs?: string };
}

/** A defined API: the single source of truth for stubs, dispatchers, codecs and fingerprints. */
export interface ApiSpec<Fns extends FunctionMap = FunctionMap, Err extends string = string> {
  readonly name: string;
  readonly version: number;
  readonly errors: readonly Err[];
  readonly functions: Fns;
  /** Functions by id; ids are 1-based, in declaration order. */
  readonly table: readonly CompiledFunction[];
  /** SHA-256 (hex) of the canonical spec. */
  readonly fingerprint: string;
  /** The first 32 bits of the fingerprint; every frame carries it. */
  readonly fingerprint32: number;
  /** The canonical form that was hashed (stable JSON). */
  readonly canonical: string;
  /** How the host keeps, counts and releases what the API hands out. */
  readonly resources: ResourcePlan;
  /** Its completion queues and the functions that post to them. */
  readonly queues: QueuePlan;
  lookup(name: string): CompiledFunction | undefined;
}

/** Options of a single call, on the guest side. */
export interface CallOptions {
  signal?: AbortSignal;
  /** Milliseconds before the call fails with TIMEOUT. */
  timeoutMs?: number;
}

type ArgsIn<F extends FunctionDefinition> = z.input<z.ZodObject<F['args']>>;
type ArgsOut<F extends FunctionDefinition> = z.output<z.ZodObject<F['args']>>;
type ResultIn<F extends FunctionDefinition> = z.input<F['result']>;
type ResultOut<F extends FunctionDefinition> = z.output<F['result']>;

/** The guest-facing signature of one function: one named-arguments object, a promise. */
export type MethodOf<F extends FunctionDefinition> =
  {} extends ArgsIn<F>
    ? (args?: ArgsIn<F>, options?: CallOptions) => Promise<ResultOut<F>>
    : (args: ArgsIn<F>, options?: CallOptions) => Promise<ResultOut<F>>;

/** The API object an application calls: what a stub is, and what a native engine offers. */
export type ApiOf<S extends ApiSpec> = { [K in keyof S['functions']]: MethodOf<S['functions'][K]> };

/** What the host implements: every function, receiving validated arguments. */
export type ImplOf<S extends ApiSpec> = {
  [K in keyof S['functions']]: (
    args: ArgsOut<S['functions'][K]>,
  ) => ResultIn<S['functions'][K]> | Promise<ResultIn<S['functions'][K]>>;
};

/** The error codes a spec may produce: its own and the framework's. */
export type ErrorCodeOf<S extends ApiSpec> =
  | S['errors'][number]
  | (typeof FRAMEWORK_ERROR_CODES)[number];

/** Most functions an API may have (function ids travel as u16). */
export const MAX_FUNCTIONS = 0xffff;

/**
 * Declares an API as data. Everything else (stub, dispatcher, codecs, fingerprint) derives
 * from the value returned. Mistakes in the spec (an undeclared error code, a data-plane
 * argument without a fixed size, an unsupported zod type) throw here, at definition time.
 */
export function defineApi<
  const Err extends string,
  const Fns extends Record<string, FunctionDefinition<ArgsShape, z.ZodType, NoInfer<Err>>>,
>(definition: ApiDefinition<Fns, Err>): ApiSpec<Fns, Err> {
  const {
    name,
    version,
    errors,
    functions,
    handles = {},
    capabilities = {},
    completionQueues = {},
  } = definition;
  if (!/^[a-z][a-z0-9-]*$/.test(name)) {
    throw new TypeError(`API name '${name}' must be lower-case letters, digits and dashes`);
  }
  if (!Number.isInteger(version) || version < 0) {
    throw new TypeError(`API '${name}': version must be a non-negative integer`);
  }
  const reserved = new Set<string>(FRAMEWORK_ERROR_CODES);
  for (const code of errors) {
    if (reserved.has(code))
      throw new TypeError(`API '${name}': error code ${code} is a framework code`);
  }
  const entries = Object.entries(functions);
  if (entries.length > MAX_FUNCTIONS) throw new TypeError(`API '${name}': too many functions`);

  const declared = new Set<string>(errors);
  const compiled = entries.map(([fnName, fn], index) =>
    compileFunction(name, fnName, fn, index + 1, declared),
  );
  const resources = planResources(name, compiled, { handles, capabilities }, declared);
  const table = compiled.map((f) => ({ ...f, releases: resources.releases.get(f.name) }));
  const queues = planQueues(name, table, { queues: completionQueues, handles }, declared);
  // Release functions are known only once every kind is planned.
  const canonical = canonicalJson({
    name,
    version,
    errors: [...errors],
    functions: table.map((f) => ({
      name: f.name,
      plane: f.plane,
      errors: [...f.errors],
      args: f.argsNode,
      result: f.resultNode,
      ...(f.releases ? { releases: f.releases } : {}),
      ...(f.posted ? { posted: f.posted } : {}),
      ...(f.reaps ? { reaps: f.reaps } : {}),
    })),
    handles,
    capabilities,
    ...canonicalQueues(completionQueues),
  });
  const fingerprint = fingerprintOf(canonical);
  const byName = new Map(table.map((f) => [f.name, f]));
  return {
    name,
    version,
    errors,
    functions,
    table,
    canonical,
    fingerprint,
    fingerprint32: Number.parseInt(fingerprint.slice(0, 8), 16) >>> 0,
    resources,
    queues,
    lookup: (fnName) => byName.get(fnName),
  };
}

function compileFunction(
  api: string,
  name: string,
  fn: FunctionDefinition,
  id: number,
  declared: ReadonlySet<string>,
): CompiledFunction {
  const path = `${api}.${name}`;
  if (fn.plane !== 'control' && fn.plane !== 'data') {
    throw new TypeError(`${path}: plane must be 'control' or 'data'`);
  }
  for (const code of fn.errors) {
    if (!declared.has(code))
      throw new TypeError(`${path}: error code ${code} is not declared by the API`);
  }
  const args = z.object(fn.args).strict();
  const argsNode = describeSchema(args, `${path}(args)`);
  const resultNode = describeSchema(fn.result, `${path}(result)`);
  const data = fn.plane === 'data';
  const argKinds = kindSitesOf(argsNode, `${path}(args)`);
  const declaredCost = fn.cost as ((args: unknown) => number) | undefined;
  return {
    id,
    name,
    plane: fn.plane,
    errors: new Set(fn.errors),
    args,
    result: fn.result,
    argsNode,
    resultNode,
    argsLayout: data ? fixedLayoutOf(argsNode, `${path}(args)`) : undefined,
    resultLayout: data ? fixedLayoutOf(resultNode, `${path}(result)`) : undefined,
    argKinds,
    resultKinds: kindSitesOf(resultNode, `${path}(result)`),
    releases: fn.releases === 'all' ? { all: true } : undefined,
    cost: !data ? () => 0 : (declaredCost ?? bufferBytesOf(argKinds)),
    ...(fn.posted ? { posted: { queue: fn.posted.queue } } : {}),
    ...(fn.reaps ? { reaps: { ...fn.reaps } } : {}),
  };
}

/**
 * The queues' part of the canonical form: only what shapes the wire (`refused` and `denied` are code, and
 * entries are checked by the layout); absent for APIs without queues, so their fingerprints hold.
 */
function canonicalQueues(queues: Record<string, CompletionQueueDefinition>) {
  const entries = Object.entries(queues);
  if (entries.length === 0) return {};
  return {
    completionQueues: Object.fromEntries(
      entries.map(([kind, q]) => [
        kind,
        { token: q.token, ...(q.capacity ? { capacity: q.capacity } : {}) },
      ]),
    ),
  };
}

/** The default cost of a data-plane call: the bytes its buffer references name. */
function bufferBytesOf(kinds: KindSites): (args: unknown) => number {
  const map = kinds.map;
  if (!map || !kinds.bufferRefs) return () => 0;
  return (args) => {
    let bytes = 0;
    map(args, {
      bufferRef: (ref: BufferRef) => {
        bytes += ref.length;
      },
    });
    return bytes;
  };
}
