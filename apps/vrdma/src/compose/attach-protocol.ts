/**
 * The attach protocol of a vrdma host, on its UNIX socket: one JSON line from the guest, one
 * JSON line back. After a welcome, the same socket carries the control plane's doorbells as
 * raw bytes (one byte, one notification), both ways; the data plane joins transport-shm's
 * socket at `<path>.data` with the welcome's token.
 *
 *   guest → host   {"type":"attach","version":1,"label":"vm-1","memoryBytes":67108864}
 *   host  → guest  {"type":"welcome","token":"…","memory":{"id":1,"path":"…","size":…},
 *                   "control":{"path":"…","size":…},"data":"<path>.data"}
 *   client → host  {"type":"stats"}
 *   host  → client {"type":"stats","guests":[…],"departed":[…],"audit":[…]}
 *   host  → any    {"type":"error","message":"…"}
 */
import { z } from 'zod';

export const ATTACH_PROTOCOL_VERSION = 1;
/** Largest guest memory a host hands out by default. */
export const MAX_GUEST_MEMORY = 256 * 1024 * 1024;
/** Longest first line accepted; anything longer is hostile. */
export const MAX_LINE_BYTES = 4096;

export const clientMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('attach'),
    version: z.literal(ATTACH_PROTOCOL_VERSION),
    label: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[\w.-]+$/),
    memoryBytes: z.number().int().min(4096).max(MAX_GUEST_MEMORY),
  }),
  z.object({ type: z.literal('stats') }),
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;

export const welcomeSchema = z.object({
  type: z.literal('welcome'),
  token: z.string(),
  memory: z.object({ id: z.number().int(), path: z.string(), size: z.number().int() }),
  control: z.object({ path: z.string(), size: z.number().int() }),
  data: z.string(),
});
export type Welcome = z.infer<typeof welcomeSchema>;

export const errorSchema = z.object({ type: z.literal('error'), message: z.string() });

export function dataSocketPath(path: string): string {
  return `${path}.data`;
}

/**
 * Reads the first line of a socket, then hands over: `rest` is whatever arrived after the
 * newline (doorbell bytes, already). Rejects lines that are too long or a socket that closes.
 */
export function readFirstLine(
  socket: NodeJS.ReadableStream,
): Promise<{ line: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const newline = buffered.indexOf(0x0a);
      if (newline === -1) {
        if (buffered.length > MAX_LINE_BYTES)
          finish(new Error(`first line longer than ${MAX_LINE_BYTES} bytes`));
        return;
      }
      finish(undefined, {
        line: buffered.subarray(0, newline).toString('utf8'),
        rest: buffered.subarray(newline + 1),
      });
    };
    const onClose = () => finish(new Error('the socket closed before a full line'));
    const finish = (error?: Error, value?: { line: string; rest: Buffer }) => {
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onClose);
      if (error) reject(error);
      else resolve(value!);
    };
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', onClose);
  });
}
