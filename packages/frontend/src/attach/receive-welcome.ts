import { closeSync } from 'node:fs';
import {
  attachRefusalSchema,
  MAX_ATTACH_LINE,
  VrdmaError,
  type Welcome,
  welcomeSchema,
} from '@vrdma/api-spec';
import { receiveRegions } from '@vrdma/memory';

/** The host's answer to an attach: its welcome and the descriptors of the regions it lists. */
export interface ReceivedWelcome {
  welcome: Welcome;
  fds: number[];
}

/**
 * Reads the host's one-line answer from `fd` (a socket not yet handed to Node), with the
 * region descriptors that came with it. A refusal is a TRANSPORT error carrying the host's
 * words; anything malformed closes every descriptor received.
 */
export function receiveWelcome(fd: number, timeoutMs: number): ReceivedWelcome {
  const fds: number[] = [];
  let text = '';
  const deadline = Date.now() + timeoutMs;
  try {
    while (!text.includes('\n')) {
      if (text.length > MAX_ATTACH_LINE)
        throw new VrdmaError('TRANSPORT', 'the host answered with an overlong line');
      const part = receiveRegions(fd, {
        maxBytes: MAX_ATTACH_LINE,
        maxFds: 3 - fds.length,
        timeoutMs: Math.max(1, deadline - Date.now()),
      });
      fds.push(...part.fds);
      text += Buffer.from(part.data).toString('utf8');
    }
    const answer: unknown = JSON.parse(text.slice(0, text.indexOf('\n')));
    const refused = attachRefusalSchema.safeParse(answer);
    if (refused.success)
      throw new VrdmaError(
        refused.data.code === 'PERMISSION_DENIED' ? 'PERMISSION_DENIED' : 'TRANSPORT',
        `the host refused: ${refused.data.message}`,
      );
    const welcome = welcomeSchema.parse(answer);
    const expected = welcome.memory ? 3 : 2;
    if (fds.length !== expected)
      throw new VrdmaError(
        'TRANSPORT',
        `the host sent ${fds.length} descriptors for ${expected} regions`,
      );
    return { welcome, fds };
  } catch (error) {
    for (const received of fds) closeQuietly(received);
    throw error instanceof VrdmaError ? error : VrdmaError.from(error, 'TRANSPORT');
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Closed already.
  }
}
