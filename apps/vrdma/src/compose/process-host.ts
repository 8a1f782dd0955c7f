import { type AttachedGuest, type Host, listen } from '@vrdma/backend';

export interface AttachServer {
  readonly path: string;
  /** Resolves with the next guest labelled `label` to attach. */
  nextAttached(label: string): Promise<AttachedGuest>;
  close(): Promise<void>;
}

/**
 * Lets guests in other processes, spawned by us or started on their own, attach to `host`
 * through a UNIX socket at `path`: the backend's `listen`, which sends each guest its memory,
 * virtqueue and ring as descriptors over that socket and keeps none.
 */
export async function listenForGuests(host: Host, path: string): Promise<AttachServer> {
  const waiting = new Map<string, Array<(guest: AttachedGuest) => void>>();
  const listener = await listen(host, {
    path,
    onAttach: (guest) => {
      const waiters = waiting.get(guest.label) ?? [];
      waiting.delete(guest.label);
      for (const wake of waiters) wake(guest);
    },
  });
  return {
    path,
    nextAttached: (label) =>
      new Promise((resolve) => {
        waiting.set(label, [...(waiting.get(label) ?? []), resolve]);
      }),
    close: () => listener.close(),
  };
}
