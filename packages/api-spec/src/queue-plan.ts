import type { CompiledFunction, HandleDefinition } from './define-api.js';
import type { SchemaNode } from './describe-schema.js';
import type { VrdmaError } from './errors.js';

/**
 * A completion queue, as the spec author declares it for one handle kind: every handle of the
 * kind has its own queue. Posted calls name the handle; the host writes how each ended into the
 * guest's memory, and the guest reaps with the kind's reaping functions without crossing.
 */
export interface CompletionQueueDefinition<Err extends string = string> {
  /**
   * The field that names a posted call: a posted function's result is `{ [token]: number }`,
   * minted by the guest (0, 1, 2, … per queue), and each completion entry carries the same field.
   */
  token: string;
  /** The entry the host writes when it refuses a posted call (what natively would have thrown). */
  refused(token: number, error: VrdmaError): unknown;
  /**
   * How many posted calls a queue holds between posting and reaping: the field of the creating
   * function's result that gives it, and the code a post beyond it fails with (at once, on the
   * guest, with nothing queued). Without it a queue is bounded by the host and the engine only.
   */
  capacity?: { field: string; refusal: Err };
  /**
   * Whether a completion entry reports a failed access check (a wrong key or a wrong range):
   * the host counts these per guest, audits them, and throttles a guest that keeps failing.
   * Posted functions of a queue that has it are the guest's remote accesses.
   */
  denied?(entry: Record<string, unknown>): boolean;
}

/** A completion queue, checked against the functions that use it. */
export interface CompiledQueue {
  readonly kind: string;
  readonly token: string;
  refused(token: number, error: VrdmaError): unknown;
  readonly capacity?: { readonly field: string; readonly refusal: string };
  /** Whether an entry reports a failed access check (see the definition's `denied`). */
  readonly denied?: (entry: Record<string, unknown>) => boolean;
  /** Reaps without waiting: the host's first look, and the function whose result layout carries completions. */
  readonly poll: CompiledFunction;
  /** Reaps, waiting up to a timeout: what the host calls when the engine has nothing yet. */
  readonly wait: CompiledFunction;
  /** The field of the reaping functions' result that holds the entries. */
  readonly entries: string;
  /** Most entries one completion frame carries (the result array's max). */
  readonly maxEntries: number;
  /** The function that releases a handle of the kind (its queue goes with it). */
  readonly release: string;
}

/** Everything about posted calls and completion queues that the stub and the host need. */
export interface QueuePlan {
  readonly queues: ReadonlyMap<string, CompiledQueue>;
  /** The queue each posted function reports to. */
  queueOf(fn: CompiledFunction): CompiledQueue | undefined;
}

/**
 * Checks the spec's completion queues against its functions: each queue's kind is a declared
 * handle kind; each posted function names a handle argument of a kind with a queue and returns
 * just the token; each kind has one non-waiting and one waiting reaping function whose result
 * is one array of entries carrying the token.
 */
export function planQueues(
  api: string,
  table: readonly CompiledFunction[],
  declared: {
    queues: Record<string, CompletionQueueDefinition>;
    handles: Record<string, HandleDefinition>;
  },
  errorCodes: ReadonlySet<string>,
): QueuePlan {
  const fail = (message: string): never => {
    throw new TypeError(`API '${api}': ${message}`);
  };
  const fieldsOf = (node: SchemaNode) => (node.type === 'object' ? node.fields : []);
  const queueArg = (fn: CompiledFunction, arg: string): string => {
    const node = fieldsOf(fn.argsNode).find(([name]) => name === arg)?.[1];
    if (node?.type !== 'handle')
      fail(`'${fn.name}' names its queue by '${arg}', which is no handle argument`);
    const kind = (node as { of: string }).of;
    if (!(kind in declared.queues))
      fail(`'${fn.name}': handle kind ${kind} has no completion queue`);
    return kind;
  };
  const numberArg = (fn: CompiledFunction, arg: string, role: string): void => {
    const node = unwrap(fieldsOf(fn.argsNode).find(([name]) => name === arg)?.[1]);
    if (node?.type !== 'number') fail(`'${fn.name}': ${role} '${arg}' is no number argument`);
  };

  const reapers = new Map<string, { poll?: CompiledFunction; wait?: CompiledFunction }>();
  const posted = new Map<string, string>();
  for (const fn of table) {
    if (fn.posted) {
      if (fn.plane !== 'data') fail(`'${fn.name}' is posted, so it must be a data-plane function`);
      const kind = queueArg(fn, fn.posted.queue);
      const token = declared.queues[kind]!.token;
      const fields = fieldsOf(fn.resultNode);
      if (fields.length !== 1 || fields[0]![0] !== token || fields[0]![1].type !== 'number')
        fail(
          `posted '${fn.name}' must return { ${token}: number } (the queue's token) and nothing else`,
        );
      posted.set(fn.name, kind);
    }
    if (fn.reaps) {
      if (fn.plane !== 'data')
        fail(`'${fn.name}' reaps a queue, so it must be a data-plane function`);
      if (fn.posted) fail(`'${fn.name}' cannot both post and reap`);
      const kind = queueArg(fn, fn.reaps.queue);
      numberArg(fn, fn.reaps.max, 'max');
      const role = fn.reaps.timeoutMs === undefined ? 'poll' : 'wait';
      if (fn.reaps.timeoutMs !== undefined) numberArg(fn, fn.reaps.timeoutMs, 'timeoutMs');
      const pair = reapers.get(kind) ?? {};
      if (pair[role])
        fail(`${kind} has two ${role === 'poll' ? 'non-waiting' : 'waiting'} reaping functions`);
      pair[role] = fn;
      reapers.set(kind, pair);
    }
  }

  const queues = new Map<string, CompiledQueue>();
  for (const [kind, def] of Object.entries(declared.queues)) {
    const handle = declared.handles[kind] ?? fail(`completion queue ${kind} is no handle kind`);
    const { poll, wait } = reapers.get(kind) ?? {};
    if (!poll || !wait)
      fail(`completion queue ${kind} needs a reaping function without timeoutMs and one with it`);
    const entries = entriesOf(poll!, def.token, fail);
    if (entriesOf(wait!, def.token, fail).field !== entries.field)
      fail(`'${poll!.name}' and '${wait!.name}' must return their entries in the same field`);
    if (def.capacity && !errorCodes.has(def.capacity.refusal))
      fail(
        `completion queue ${kind}: refusal ${def.capacity.refusal} is not an error code of the API`,
      );
    if (def.capacity) {
      const creators = table.filter((f) => f.resultKinds.handles.has(kind));
      for (const fn of creators)
        if (
          !fieldsOf(fn.resultNode).some(
            ([n, node]) => n === def.capacity!.field && unwrap(node)?.type === 'number',
          )
        )
          fail(
            `'${fn.name}' creates ${kind} but its result has no number '${def.capacity.field}' (the queue's capacity)`,
          );
    }
    queues.set(kind, {
      kind,
      token: def.token,
      refused: def.refused,
      capacity: def.capacity,
      ...(def.denied ? { denied: def.denied } : {}),
      poll: poll!,
      wait: wait!,
      entries: entries.field,
      maxEntries: entries.max,
      release: handle.release,
    });
  }
  return { queues, queueOf: (fn) => (fn.posted ? queues.get(posted.get(fn.name)!) : undefined) };
}

function unwrap(node: SchemaNode | undefined): SchemaNode | undefined {
  while (node && (node.type === 'default' || node.type === 'optional')) node = node.inner;
  return node;
}

/** The one array field of a reaping function's result; its entries must carry the token. */
function entriesOf(
  fn: CompiledFunction,
  token: string,
  fail: (message: string) => never,
): { field: string; max: number } {
  const fields = fn.resultNode.type === 'object' ? fn.resultNode.fields : [];
  const [field, node] = fields[0] ?? [];
  if (fields.length !== 1 || node?.type !== 'array')
    fail(`'${fn.name}' reaps a queue, so its result must be one array of entries`);
  const array = node as Extract<SchemaNode, { type: 'array' }>;
  const entry = array.element;
  if (entry.type !== 'object' || !entry.fields.some(([n, f]) => n === token && f.type === 'number'))
    fail(`'${fn.name}': each entry must carry the number '${token}'`);
  return { field: field!, max: array.maxLength ?? 0 };
}
