import { VrdmaError } from '@vrdma/api-spec';

/**
 * The stream between a host and a process guest (a UNIX socket), beside the rings. Each unit
 * starts with a type byte:
 *
 *   0x01                     a doorbell (one wake of the peer)
 *   0x02 u32le length JSON   a set-up message (at most 4096 bytes), see ProcessMessage
 */
export const WAKE_BYTE = 0x01;
export const JSON_BYTE = 0x02;
export const MAX_MESSAGE_BYTES = 4096;
export const PROTOCOL_VERSION = 1;

export type ProcessMessage =
  /** guest → host, first: who it is and what it speaks. */
  | { type: 'hello'; version: number; pid: number; token?: string }
  /** host → guest: the channel (rings) to map. */
  | { type: 'welcome'; version: number; channel: { path: string; size: number } }
  /** guest → host: asks for a region of its own (its buffers live there). */
  | { type: 'region'; id: number; size: number }
  /** host → guest: the region to map, or why not. */
  | { type: 'region-ready'; id: number; path?: string; size?: number; error?: string };

export function encodeMessage(message: ProcessMessage): Uint8Array {
  const json = Buffer.from(JSON.stringify(message));
  const unit = Buffer.alloc(5 + json.length);
  unit[0] = JSON_BYTE;
  unit.writeUInt32LE(json.length, 1);
  json.copy(unit, 5);
  return unit;
}

/** Splits the incoming stream into wakes and messages; anything else is a TRANSPORT error. */
export class MessageReader {
  private pending: Buffer = Buffer.alloc(0);

  constructor(
    private readonly onWake: (count: number) => void,
    private readonly onMessage: (message: unknown) => void,
  ) {}

  feed(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let at = 0;
    let wakes = 0;
    while (at < this.pending.length) {
      const type = this.pending[at]!;
      if (type === WAKE_BYTE) {
        wakes++;
        at++;
        continue;
      }
      if (type !== JSON_BYTE) throw new VrdmaError('TRANSPORT', `unknown unit type ${type}`);
      if (this.pending.length - at < 5) break;
      const length = this.pending.readUInt32LE(at + 1);
      if (length > MAX_MESSAGE_BYTES) {
        throw new VrdmaError('TRANSPORT', `set-up message of ${length} bytes is too long`);
      }
      if (this.pending.length - at < 5 + length) break;
      const text = this.pending.toString('utf8', at + 5, at + 5 + length);
      at += 5 + length;
      let message: unknown;
      try {
        message = JSON.parse(text);
      } catch (error) {
        throw new VrdmaError('TRANSPORT', 'undecodable set-up message', { cause: error });
      }
      if (wakes > 0) this.onWake(wakes);
      wakes = 0;
      this.onMessage(message);
    }
    if (wakes > 0) this.onWake(wakes);
    this.pending = this.pending.subarray(at);
  }
}
