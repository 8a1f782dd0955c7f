/**
 * Messages between a host and a guest thread, beside the rings (set-up only, never per call).
 * They are objects with a `vrdmaShm` tag, so they can share a port with the user's messages.
 *
 *   host → guest  { vrdmaShm: 'attach', channel: SharedArrayBuffer }
 *   guest → host  { vrdmaShm: 'region', id, memory: SharedArrayBuffer }
 *   host → guest  { vrdmaShm: 'region-ack', id, error?: string }
 *   host → guest  { vrdmaShm: 'detach' }
 */
export type ThreadMessage =
  | { vrdmaShm: 'attach'; channel: SharedArrayBuffer }
  | { vrdmaShm: 'region'; id: number; memory: SharedArrayBuffer }
  | { vrdmaShm: 'region-ack'; id: number; error?: string }
  | { vrdmaShm: 'detach' };

export function isThreadMessage(value: unknown): value is ThreadMessage {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { vrdmaShm?: unknown }).vrdmaShm === 'string'
  );
}
