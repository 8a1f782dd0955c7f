import type { CapabilityDefinition, CompiledFunction, HandleDefinition } from './define-api.js';

/** What a successful call releases: one object named by an argument, or all of the caller's. */
export type Releases = { all: true } | { kind: string; capability: boolean; field: string };

/** One kind of object the host keeps for a guest: a handle kind or a capability kind. */
export interface ResourceKind {
  readonly kind: string;
  readonly capability: boolean;
  /** The function that releases one, and the argument that names it. */
  readonly release: string;
  readonly field: string;
}

/** How the host keeps, counts and releases what an API hands out, derived from its spec. */
export interface ResourcePlan {
  readonly handles: Readonly<Record<string, HandleDefinition>>;
  readonly capabilities: Readonly<Record<string, CapabilityDefinition>>;
  /** The order in which a departing guest's objects are released: capabilities, then handles, dependants first. */
  readonly releaseOrder: readonly ResourceKind[];
  readonly releases: ReadonlyMap<string, Releases>;
  /** True when some function takes or returns a buffer reference: guests need shared memory. */
  readonly usesBuffers: boolean;
}

/**
 * Checks the spec's `handles` and `capabilities` against its functions and derives the plan:
 * every kind a result holds is declared, every release function names one object of its kind,
 * a `bytes` argument exists on every creating function, and dependencies form no cycle.
 */
export function planResources(
  api: string,
  table: readonly CompiledFunction[],
  declared: {
    handles: Record<string, HandleDefinition>;
    capabilities: Record<string, CapabilityDefinition>;
  },
  errorCodes: ReadonlySet<string>,
): ResourcePlan {
  const byName = new Map(table.map((f) => [f.name, f]));
  const fail = (message: string): never => {
    throw new TypeError(`API '${api}': ${message}`);
  };
  const releases = new Map<string, Releases>();
  for (const fn of table) if (fn.releases) releases.set(fn.name, fn.releases);

  const releaseOf = (kind: string, capability: boolean, release: string): ResourceKind => {
    const fn =
      byName.get(release) ?? fail(`${kind} is released by '${release}', which is no function`);
    const type = capability ? 'capability' : 'handle';
    const fields = fn.argsNode.type === 'object' ? fn.argsNode.fields : [];
    const named = fields.filter(([, node]) => node.type === type && node.of === kind);
    if (named.length !== 1)
      fail(
        `'${release}' releases ${kind}, so its arguments must name exactly one ${type}('${kind}')`,
      );
    if (releases.has(release)) fail(`'${release}' releases more than one kind`);
    const field = named[0]![0];
    releases.set(release, { kind, capability, field });
    return { kind, capability, release, field };
  };

  const handles = Object.entries(declared.handles).map(([kind, def]) => {
    for (const fn of table) {
      if (!fn.resultKinds.handles.has(kind) || !def.bytes) continue;
      const fields = fn.argsNode.type === 'object' ? fn.argsNode.fields : [];
      if (!fields.some(([name, node]) => name === def.bytes && node.type === 'number'))
        fail(`'${fn.name}' creates ${kind} but has no number argument '${def.bytes}' (its bytes)`);
    }
    for (const after of def.releasedAfter ?? [])
      if (!(after in declared.handles)) fail(`${kind} is released after ${after}, no handle kind`);
    return releaseOf(kind, false, def.release);
  });
  const capabilities = Object.entries(declared.capabilities).map(([kind, def]) => {
    if (!errorCodes.has(def.refusal))
      fail(`capability ${kind}: refusal ${def.refusal} is not an error code of the API`);
    return releaseOf(kind, true, def.release);
  });

  for (const fn of table) {
    for (const kind of fn.resultKinds.handles)
      if (!(kind in declared.handles))
        fail(`'${fn.name}' returns handle('${kind}'): declare in handles how one is released`);
    for (const kind of fn.resultKinds.capabilities)
      if (!(kind in declared.capabilities))
        fail(
          `'${fn.name}' returns capability('${kind}'): declare in capabilities how one is released`,
        );
  }

  return {
    handles: declared.handles,
    capabilities: declared.capabilities,
    releaseOrder: [...capabilities, ...dependantsFirst(handles, declared.handles, fail)],
    releases,
    usesBuffers: table.some((f) => f.argKinds.bufferRefs || f.resultKinds.bufferRefs),
  };
}

/** Orders handle kinds so that each comes before every kind declared `releasedAfter` it. */
function dependantsFirst(
  kinds: ResourceKind[],
  defs: Record<string, HandleDefinition>,
  fail: (message: string) => never,
): ResourceKind[] {
  const ordered: ResourceKind[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const byKind = new Map(kinds.map((k) => [k.kind, k]));
  // A kind released after others is placed once those are placed.
  const visit = (kind: string) => {
    if (state.get(kind) === 'done') return;
    if (state.get(kind) === 'visiting')
      fail(`handle kinds are released after each other in a cycle at ${kind}`);
    state.set(kind, 'visiting');
    for (const before of defs[kind]?.releasedAfter ?? []) visit(before);
    state.set(kind, 'done');
    ordered.push(byKind.get(kind)!);
  };
  for (const k of kinds) visit(k.kind);
  return ordered;
}
