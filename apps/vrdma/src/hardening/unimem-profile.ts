import { type Handle, VrdmaError } from '@vrdma/api-spec';
import type { Connection } from '@vrdma/frontend';
import { type GlobalAddress, type UnimemSpec, unimemSpec } from '@vrdma/unimem-api';
import type { ApiProfile } from './api-profile.js';

type Api = Connection<UnimemSpec>['api'];

/** A posted transfer, and how it ended: a refusal comes back in the completion, as a throw here. */
async function transferEnd(api: Api, channel: Handle<'Channel'>, transfer: number) {
  for (let tries = 0; tries < 20; tries++) {
    const { completions } = await api.wait({ channel, timeoutMs: 500 });
    const ended = completions.find((c) => c.transfer === transfer);
    if (ended?.status === 'refused') throw new VrdmaError(ended.error!, 'refused by the host');
    if (ended) return ended.status;
  }
  throw new VrdmaError('TIMEOUT', `transfer ${transfer} never completed`);
}

/**
 * A guess at `key` that differs from it in its low 32 bits only (`flip` is never 0): the
 * closest a guesser can come without knowing it, whatever the key's width.
 */
function nearMiss(key: number, flip: number): number {
  const low = key % 2 ** 32;
  return key - low + ((low ^ flip) >>> 0);
}

/** The Unimem API, as the fuzzer plays it. */
export const unimemProfile: ApiProfile<UnimemSpec> = {
  spec: unimemSpec,
  async prepare(connection) {
    const { api } = connection;
    await api.open({});
    const { buffer, ref, address } = await api.alloc({ size: 4096 });
    const { key } = await api.exportBuffer({ buffer, access: 'read-write' });
    const { channel } = await api.openChannel({ depth: 8 });
    return { buffer, ref, address, key, channel };
  },
  sampleArgs(fn, own) {
    const transfer = {
      channel: own.channel,
      local: own.ref,
      remote: own.address,
      key: own.key,
    };
    const samples: Record<string, unknown> = {
      alloc: { size: 4096 },
      free: { buffer: own.buffer },
      exportBuffer: { buffer: own.buffer, access: 'read' },
      revoke: { key: own.key },
      openChannel: { depth: 4 },
      closeChannel: { channel: own.channel },
      write: transfer,
      read: transfer,
      poll: { channel: own.channel, max: 16 },
      wait: { channel: own.channel, max: 16, timeoutMs: 10 },
    };
    return samples[fn.name] ?? {};
  },
  ping: (connection) => connection.api.query({}),
  makers: ({ api }, own, size) => [
    () => api.alloc({ size }),
    () => api.openChannel({ depth: (size % 64) + 1 }),
    () => api.exportBuffer({ buffer: own.buffer as Handle<'Buffer'>, access: 'read' }),
  ],
  async callWithRef(connection, own, ref, pick) {
    const { api } = connection;
    const channel = own.channel as Handle<'Channel'>;
    const { transfer } = await api[pick % 2 === 0 ? 'write' : 'read']({
      channel,
      local: ref as never,
      remote: own.address as GlobalAddress,
      key: own.key as number,
    });
    return transferEnd(api, channel, transfer);
  },
  foreignAttempts(connection, own, foreign, guess) {
    const { api } = connection;
    const channel = own.channel as Handle<'Channel'>;
    const theirs = {
      buffer: foreign.buffer as Handle<'Buffer'>,
      channel: foreign.channel as Handle<'Channel'>,
      key: foreign.key as number,
      address: foreign.address as GlobalAddress,
      ref: foreign.ref as { region: number; offset: number; length: number },
    };
    const post = async (fn: 'write' | 'read', args: Parameters<Api['write']>[0]) => {
      const { transfer } = await api[fn](args);
      const status = await transferEnd(api, args.channel, transfer);
      // A denial that ends in the completion is the host's refusal, as a throw is.
      if (status === 'no-permission') throw new VrdmaError('NO_PERMISSION', 'denied');
      if (status !== 'ok') throw new VrdmaError('ABORTED', `ended ${status}`);
      return status;
    };
    return {
      free: () => api.free({ buffer: theirs.buffer }),
      exportBuffer: () => api.exportBuffer({ buffer: theirs.buffer, access: 'read-write' }),
      poll: () => api.poll({ channel: theirs.channel }),
      wait: () => api.wait({ channel: theirs.channel, timeoutMs: 10 }),
      closeChannel: () => api.closeChannel({ channel: theirs.channel }),
      revoke: () => api.revoke({ key: theirs.key }),
      writeFromTheirMemory: () =>
        post('write', {
          channel,
          local: theirs.ref as never,
          remote: own.address as GlobalAddress,
          key: own.key as number,
        }),
      readIntoTheirMemory: () =>
        post('read', {
          channel,
          local: theirs.ref as never,
          remote: own.address as GlobalAddress,
          key: own.key as number,
        }),
      writeWithGuessedKey: () =>
        post('write', {
          channel,
          local: own.ref as never,
          remote: theirs.address,
          key: nearMiss(theirs.key, guess | 1),
        }),
      readWithGuessedKey: () =>
        post('read', {
          channel,
          local: own.ref as never,
          remote: theirs.address,
          key: nearMiss(theirs.key, guess | 2),
        }),
    };
  },
};
