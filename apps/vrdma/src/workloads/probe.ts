import { type BufferRef, type Handle, isVrdmaError, VrdmaError } from '@vrdma/api-spec';
import type { GlobalAddress, UnimemSession } from '@vrdma/unimem-api';

/** Objects a guest holds, as it would hand them to another guest (handles are meaningless elsewhere). */
export interface Holdings {
  buffer: number;
  channel: number;
  key: number;
  address: GlobalAddress;
  ref: BufferRef;
}

/** Allocates a buffer, exports it and opens a channel; keeps them. */
export async function hold(device: UnimemSession, size: number): Promise<Holdings> {
  const { buffer, ref } = await device.alloc({ size });
  const { key, address } = await device.exportBuffer({ buffer, access: 'read-write' });
  const { channel } = await device.openChannel({ depth: 4 });
  return { buffer, channel, key, address, ref };
}

async function outcome(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return 'ok';
  } catch (error) {
    return isVrdmaError(error) ? error.code : `not a VrdmaError: ${String(error)}`;
  }
}

/** Tries every way of touching another guest's objects; returns what each attempt got. */
export async function probe(
  device: UnimemSession,
  foreign: Holdings,
): Promise<Record<string, string>> {
  const buffer = foreign.buffer as Handle<'Buffer'>;
  const channel = foreign.channel as Handle<'Channel'>;
  const own = await device.openChannel({ depth: 2 });
  try {
    return {
      free: await outcome(() => device.free({ buffer })),
      exportBuffer: await outcome(() => device.exportBuffer({ buffer, access: 'read' })),
      poll: await outcome(() => device.poll({ channel })),
      closeChannel: await outcome(() => device.closeChannel({ channel })),
      revoke: await outcome(() => device.revoke({ key: foreign.key })),
      writeFromForeignRegion: await outcome(async () => {
        const { transfer } = await device.write({
          channel: own.channel,
          local: foreign.ref,
          remote: foreign.address,
          key: foreign.key,
        });
        // Remoted, the write is posted: the host's refusal comes back in its completion.
        const { completions } = await device.wait({ channel: own.channel, timeoutMs: 10_000 });
        const ended = completions.find((c) => c.transfer === transfer);
        if (ended?.status === 'refused') throw new VrdmaError(ended.error!, 'refused by the host');
        return ended;
      }),
    };
  } finally {
    await device.closeChannel({ channel: own.channel });
  }
}

/** Allocates until refused (at most `max`); frees what it got; returns the count and the refusal. */
export async function allocUntilRefused(
  device: UnimemSession,
  size: number,
  max: number,
): Promise<{ count: number; code: string }> {
  const got: Array<Handle<'Buffer'>> = [];
  let code = 'none';
  while (got.length < max) {
    try {
      got.push((await device.alloc({ size })).buffer);
    } catch (error) {
      code = isVrdmaError(error) ? error.code : String(error);
      break;
    }
  }
  for (const buffer of got) await device.free({ buffer });
  return { count: got.length, code };
}
