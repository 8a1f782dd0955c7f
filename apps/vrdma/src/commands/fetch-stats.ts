import { createConnection, type Socket } from 'node:net';
import { type AttachRequest, attachRefusalSchema, VrdmaError } from '@vrdma/api-spec';
import type { DepartedGuest, GuestInfo } from '@vrdma/backend';
import { z } from 'zod';

/** A host's answer to the attach protocol's stats request. */
export interface StatsSnapshot {
  type: 'stats';
  guests: GuestInfo[];
  departed: DepartedGuest[];
  audit: Array<{ guest: number; label: string; kind: string; message: string }>;
}

// api-spec defines the request, not the answer: this checks the envelope the command reads.
const statsAnswerSchema = z.object({
  type: z.literal('stats'),
  guests: z.array(z.object({ id: z.number(), label: z.string() }).loose()),
  departed: z.array(z.object({ label: z.string() }).loose()),
  audit: z.array(z.object({ kind: z.string(), message: z.string() }).loose()),
});

/** A snapshot carries every guest and the last 50 audit records: far below this. */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/** Asks the host listening at `path` for its figures, with the attach protocol's stats request. */
export async function fetchStats(path: string): Promise<StatsSnapshot> {
  const socket = await connectTo(path);
  try {
    const request: AttachRequest = { type: 'stats' };
    socket.write(`${JSON.stringify(request)}\n`);
    const line = await readLine(socket);
    let answer: unknown;
    try {
      answer = JSON.parse(line);
    } catch {
      throw unexpected(line);
    }
    const refused = attachRefusalSchema.safeParse(answer);
    if (refused.success)
      throw new VrdmaError(
        refused.data.code === 'PERMISSION_DENIED' ? 'PERMISSION_DENIED' : 'TRANSPORT',
        `the host refused: ${refused.data.message}`,
      );
    if (!statsAnswerSchema.safeParse(answer).success) throw unexpected(line);
    return answer as StatsSnapshot;
  } finally {
    socket.destroy();
  }
}

function unexpected(line: string): VrdmaError {
  return new VrdmaError('TRANSPORT', `unexpected answer from the host: ${line.slice(0, 200)}`);
}

function connectTo(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    socket.once('connect', () => resolve(socket));
    socket.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new VrdmaError(
          'DISCONNECTED',
          error.code === 'ENOENT' || error.code === 'ECONNREFUSED'
            ? `no vrdma host listens at ${path}`
            : `cannot reach the host at ${path}: ${error.message}`,
        ),
      ),
    );
  });
}

/** The host's one-line answer; it closes the socket after it. */
function readLine(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    socket.on('data', (chunk: Buffer) => {
      const newline = chunk.indexOf(0x0a);
      chunks.push(newline === -1 ? chunk : chunk.subarray(0, newline));
      length += chunk.length;
      if (newline !== -1) resolve(Buffer.concat(chunks).toString('utf8'));
      else if (length > MAX_ANSWER_BYTES)
        reject(
          new VrdmaError('TRANSPORT', `the host's answer is longer than ${MAX_ANSWER_BYTES} bytes`),
        );
    });
    socket.once('close', () =>
      reject(new VrdmaError('DISCONNECTED', 'the host closed the socket before answering')),
    );
    socket.once('error', (error) =>
      reject(new VrdmaError('TRANSPORT', `reading the host's answer: ${error.message}`)),
    );
  });
}
