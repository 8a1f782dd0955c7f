import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineApi, type FunctionDefinition } from './define-api.js';
import { VrdmaError } from './errors.js';
import { handle } from './kinds.js';
import { queueSpec } from './test-fixtures/queue-spec.js';
import { transferSpec } from './test-fixtures/transfer-spec.js';

type Definition = Parameters<typeof defineApi>[0];
type Functions = Record<string, FunctionDefinition>;

const u32 = z.number().int().min(0).max(0xffff_ffff);
const entry = z.object({ id: u32, status: z.enum(['ok', 'refused']), value: u32 });

/** The fixture's definition, as plain data each test may change one thing of. */
function definition(): Definition & { functions: Functions } {
  return {
    name: queueSpec.name,
    version: queueSpec.version,
    errors: [...queueSpec.errors],
    functions: { ...(queueSpec.functions as unknown as Functions) },
    handles: { Channel: { release: 'close' }, Plain: { release: 'drop' } },
    completionQueues: {
      Channel: {
        token: 'id',
        capacity: { field: 'depth', refusal: 'FULL' },
        refused: (id: number, error: VrdmaError) => ({
          id,
          status: 'refused',
          value: 0,
          error: error.code,
        }),
      },
    },
  };
}

/** The definition without anything about queues: no posted, no reaps, no completionQueues. */
function withoutQueues(): Definition {
  const def = definition();
  const functions: Functions = {};
  for (const [name, fn] of Object.entries(def.functions)) {
    const { posted: _posted, reaps: _reaps, ...rest } = fn;
    functions[name] = rest;
  }
  const { completionQueues: _queues, ...rest } = def;
  return { ...rest, functions };
}

function rejects(def: Definition, message: RegExp): void {
  let thrown: unknown;
  try {
    defineApi(def);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(TypeError);
  expect((thrown as Error).message).toMatch(/^API 'queue-fixture': /);
  expect((thrown as Error).message).toMatch(message);
}

describe('defineApi: posted calls and completion queues', () => {
  it('compiles a valid spec: its queue, reapers, entries and token', () => {
    const queue = queueSpec.queues.queues.get('Channel');
    expect([...queueSpec.queues.queues.keys()]).toEqual(['Channel']);
    expect(queue).toBeDefined();
    expect(queue!.kind).toBe('Channel');
    expect(queue!.token).toBe('id');
    expect(queue!.poll).toBe(queueSpec.lookup('poll'));
    expect(queue!.wait).toBe(queueSpec.lookup('wait'));
    expect(queue!.entries).toBe('entries');
    expect(queue!.maxEntries).toBe(4);
    expect(queue!.release).toBe('close');
    expect(queue!.capacity).toEqual({ field: 'depth', refusal: 'FULL' });
    expect(queue!.refused(7, new VrdmaError('NOPE', 'no'))).toEqual({
      id: 7,
      status: 'refused',
      value: 0,
      error: 'NOPE',
    });
    expect(queueSpec.queues.queueOf(queueSpec.lookup('put')!)).toBe(queue);
    expect(queueSpec.queues.queueOf(queueSpec.lookup('poll')!)).toBeUndefined();
    expect(queueSpec.queues.queueOf(queueSpec.lookup('open')!)).toBeUndefined();
    expect(queueSpec.lookup('put')!.posted).toEqual({ queue: 'channel' });
    expect(queueSpec.lookup('wait')!.reaps).toEqual({
      queue: 'channel',
      max: 'max',
      timeoutMs: 'timeoutMs',
    });
  });

  it('a spec without queues has an empty plan', () => {
    expect(transferSpec.queues.queues.size).toBe(0);
    for (const fn of transferSpec.table) expect(transferSpec.queues.queueOf(fn)).toBeUndefined();
  });

  it('rejects a posted function on the control plane', () => {
    const def = definition();
    def.functions.put = { ...def.functions.put!, plane: 'control' };
    rejects(def, /'put' is posted, so it must be a data-plane function/);
  });

  it('rejects a posted queue argument that is no handle, or is missing', () => {
    const def = definition();
    def.functions.put = { ...def.functions.put!, posted: { queue: 'value' } };
    rejects(def, /'put' names its queue by 'value', which is no handle argument/);
    def.functions.put = { ...def.functions.put!, posted: { queue: 'nowhere' } };
    rejects(def, /'put' names its queue by 'nowhere', which is no handle argument/);
  });

  it('rejects a posted queue argument of a handle kind without a queue', () => {
    const def = definition();
    def.functions.put = {
      ...def.functions.put!,
      args: { plain: handle('Plain'), value: u32 },
      posted: { queue: 'plain' },
    };
    rejects(def, /'put': handle kind Plain has no completion queue/);
  });

  it('rejects a posted result that is not exactly { token: number }', () => {
    for (const result of [
      z.object({ id: u32, extra: u32 }),
      z.object({ transfer: u32 }),
      z.object({ id: z.boolean() }),
      z.object({}),
    ]) {
      const def = definition();
      def.functions.put = { ...def.functions.put!, result };
      rejects(def, /posted 'put' must return \{ id: number \}/);
    }
  });

  it('rejects a completion queue on a kind that is no handle kind', () => {
    const def = definition();
    def.completionQueues = {
      ...def.completionQueues,
      Ghost: { token: 'id', refused: (id: number) => ({ id }) },
    };
    rejects(def, /completion queue Ghost is no handle kind/);
  });

  it('rejects a queue without its non-waiting or its waiting reaper', () => {
    for (const missing of ['poll', 'wait']) {
      const def = definition();
      delete def.functions[missing];
      rejects(
        def,
        /completion queue Channel needs a reaping function without timeoutMs and one with it/,
      );
    }
  });

  it('rejects two non-waiting reapers (and two waiting ones) of one kind', () => {
    const pollers = definition();
    pollers.functions.poll2 = pollers.functions.poll!;
    rejects(pollers, /Channel has two non-waiting reaping functions/);
    const waiters = definition();
    waiters.functions.wait2 = waiters.functions.wait!;
    rejects(waiters, /Channel has two waiting reaping functions/);
  });

  it('rejects reaped entries that do not carry the token', () => {
    const def = definition();
    const noToken = z.object({ status: z.enum(['ok', 'refused']), value: u32 });
    def.functions.poll = {
      ...def.functions.poll!,
      result: z.object({ entries: z.array(noToken).max(4) }),
    };
    rejects(def, /'poll': each entry must carry the number 'id'/);
    const notArray = definition();
    notArray.functions.wait = {
      ...notArray.functions.wait!,
      result: z.object({ entries: z.array(entry).max(4), more: u32 }),
    };
    rejects(notArray, /'wait' reaps a queue, so its result must be one array of entries/);
  });

  it('rejects a capacity refusal that is not an error code of the API', () => {
    for (const refusal of ['MISSING', 'BAD_HANDLE']) {
      const def = definition();
      def.completionQueues = {
        Channel: { ...def.completionQueues!.Channel!, capacity: { field: 'depth', refusal } },
      };
      rejects(def, new RegExp(`refusal ${refusal} is not an error code of the API`));
    }
  });

  it('rejects a function creating the kind without the capacity field in its result', () => {
    const def = definition();
    def.functions.open = {
      ...def.functions.open!,
      result: z.object({ channel: handle('Channel') }),
    };
    rejects(def, /'open' creates Channel but its result has no number 'depth'/);
    const another = definition();
    another.functions.reopen = {
      plane: 'control',
      args: {},
      result: z.object({ channel: handle('Channel'), depth: z.string() }),
      errors: [],
    };
    rejects(another, /'reopen' creates Channel but its result has no number 'depth'/);
  });

  it('rejects reaping on the control plane, or posting and reaping at once', () => {
    const control = definition();
    control.functions.poll = { ...control.functions.poll!, plane: 'control' };
    rejects(control, /'poll' reaps a queue, so it must be a data-plane function/);
    const both = definition();
    both.functions.put = { ...both.functions.put!, reaps: { queue: 'channel', max: 'value' } };
    rejects(both, /'put' cannot both post and reap/);
  });
});

describe('fingerprints and queues', () => {
  it('is unchanged for a spec without queues (the hash from before queues existed)', () => {
    // transferSpec's fingerprint as computed by defineApi before posted calls were added.
    expect(transferSpec.fingerprint).toBe(
      '54094165fbc29f79d4e3c70e2af803c08d5d40472dde80d874950b7c51c4023a',
    );
    expect(transferSpec.canonical).not.toMatch(/completionQueues|posted|reaps/);
  });

  it('does not change when completionQueues is declared empty', () => {
    const bare = withoutQueues();
    const empty = { ...bare, completionQueues: {} };
    expect(defineApi(empty).fingerprint).toBe(defineApi(bare).fingerprint);
    expect(defineApi(empty).canonical).toBe(defineApi(bare).canonical);
  });

  it('changes when a queue is added, or what shapes its wire changes, not with `refused`', () => {
    const bare = defineApi(withoutQueues());
    expect(queueSpec.fingerprint).not.toBe(bare.fingerprint);
    expect(defineApi(definition()).fingerprint).toBe(queueSpec.fingerprint);

    const otherCapacity = definition();
    otherCapacity.completionQueues = {
      Channel: {
        ...otherCapacity.completionQueues!.Channel!,
        capacity: { field: 'depth', refusal: 'NOPE' },
      },
    };
    expect(defineApi(otherCapacity).fingerprint).not.toBe(queueSpec.fingerprint);

    const otherRefused = definition();
    otherRefused.completionQueues = {
      Channel: { ...otherRefused.completionQueues!.Channel!, refused: (id: number) => ({ id }) },
    };
    expect(defineApi(otherRefused).fingerprint).toBe(queueSpec.fingerprint);
  });
});
