import { FrameKind, type Region } from '@vrdma/api-spec';
import { BufferAllocator } from '@vrdma/memory';
import type { GuestEndpoint } from '../guest-endpoint.js';
import {
  fillPattern,
  frameWords,
  GUEST_SEED,
  HOST_SEED,
  hasPattern,
  Op,
  testFrame,
} from './frames.js';

/** What the test asks a guest (thread or process) to do, and what the guest answers. */
export type GuestCommand =
  | { cmd: 'calls'; count: number; window: number }
  | { cmd: 'zero-copy'; length: number }
  | { cmd: 'hang' }
  | { cmd: 'close' };

/** What only a process guest is asked to do: break its own ring, as a hostile guest would. */
export type ProcessGuestCommand = GuestCommand | { cmd: 'corrupt'; garbage: number[] };

export interface GuestReport {
  ok: boolean;
  detail?: string;
  calls?: number;
  doorbells?: number;
}

/**
 * Runs one command over a connection. `calls`: `count` increments with at most `window` in
 * flight, each reply checked against its own request. `zero-copy`: a buffer filled by the
 * guest, checked and overwritten by the host, checked again here; only its reference travels.
 */
export async function runCommand(
  host: { transport: GuestEndpoint },
  region: Region,
  command: GuestCommand,
  callIds: { next: number },
  progress: (report: GuestReport) => void,
): Promise<GuestReport> {
  const call = async (words: number[]) => {
    const reply = await host.transport.call(testFrame(FrameKind.Request, callIds.next++, words));
    return frameWords(reply);
  };
  switch (command.cmd) {
    case 'calls': {
      let next = 0;
      let bad = '';
      const worker = async () => {
        while (next < command.count) {
          const value = next++;
          const [result] = await call([Op.Increment, value]);
          if (result !== value + 1) bad ||= `call ${value} returned ${result}`;
        }
      };
      await Promise.all(Array.from({ length: command.window }, worker));
      return {
        ok: bad === '',
        detail: bad,
        calls: host.transport.metrics.messages,
        doorbells: host.transport.metrics.doorbells,
      };
    }
    case 'zero-copy': {
      const allocator = new BufferAllocator(region);
      const buffer = allocator.allocate(command.length, { align: 'page' });
      fillPattern(buffer.bytes, GUEST_SEED);
      const { region: id, offset, length } = buffer.ref;
      const [hostSaw] = await call([Op.ZeroCopy, id, offset, length]);
      const guestSees = hasPattern(buffer.bytes, HOST_SEED);
      allocator.free(buffer);
      return {
        ok: hostSaw === 1 && guestSees,
        detail: `host saw the guest's bytes: ${hostSaw === 1}; guest sees the host's: ${guestSees}`,
      };
    }
    case 'hang': {
      const pending = call([Op.Hang]);
      progress({ ok: true, detail: 'in flight' });
      try {
        await pending;
        return { ok: false, detail: 'a hung call got a reply' };
      } catch (error) {
        return { ok: true, detail: (error as Error).message };
      }
    }
    case 'close':
      await host.transport.close();
      return { ok: true };
  }
}
