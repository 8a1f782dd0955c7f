import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AttachedGuest, type Host, type HostListener, listen } from '@vrdma/backend';

/** A host's attach socket for the guest processes a deployment starts itself. */
export interface AttachSocket {
  readonly path: string;
  /**
   * The next guest labelled `label` to attach, as the host sees it. Ask before the guest is
   * started; `cancel` drops the wait when the guest never comes.
   */
  arrival(label: string): { attached: Promise<AttachedGuest>; cancel(): void };
  close(): Promise<void>;
}

/**
 * Listens for `host`'s guest processes on a socket in a fresh private folder (removed on
 * close), and tells each waiting caller when the guest with its label has attached.
 */
export async function openAttachSocket(host: Host): Promise<AttachSocket> {
  const waiting = new Map<string, Array<(guest: AttachedGuest) => void>>();
  const dir = mkdtempSync(join(tmpdir(), 'vrdma-'));
  const path = join(dir, 'host.sock');
  const onAttach = (guest: AttachedGuest) => {
    const queue = waiting.get(guest.label);
    const wake = queue?.shift();
    if (queue?.length === 0) waiting.delete(guest.label);
    wake?.(guest);
  };
  let listener: HostListener;
  try {
    listener = await listen(host, { path, onAttach });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    path,
    arrival(label) {
      let wake!: (guest: AttachedGuest) => void;
      const attached = new Promise<AttachedGuest>((resolve) => {
        wake = resolve;
      });
      waiting.set(label, [...(waiting.get(label) ?? []), wake]);
      return {
        attached,
        cancel: () => {
          const rest = (waiting.get(label) ?? []).filter((w) => w !== wake);
          if (rest.length > 0) waiting.set(label, rest);
          else waiting.delete(label);
        },
      };
    },
    async close() {
      await listener.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
