import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { createConnection, type Server } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { VrdmaError } from '@vrdma/api-spec';

/** A socket path this process listens on, and how to give it back. */
export interface ClaimedPath {
  /** Removes the socket, only if the file at the path is still the one this process created. */
  release(): void;
}

/**
 * Listens on `path` with `server`, safely: refuses a path that holds anything but a stale
 * socket, and a socket a live host answers on; the socket is made in a private folder, given
 * `mode` (owner-only by default) and renamed into place, so no one else can connect in between.
 */
export async function listenOnPath(
  server: Server,
  path: string,
  mode = 0o600,
): Promise<ClaimedPath> {
  const folder = dirname(path);
  if (!existsSync(folder))
    throw new VrdmaError('INVALID_ARGUMENT', `the folder ${folder} does not exist`);
  await refuseUnlessStale(path);
  const privateDir = mkdtempSync(join(folder, `.${basename(path)}-`));
  const staging = join(privateDir, 'socket');
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(staging, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(staging, mode);
    renameSync(staging, path);
  } catch (error) {
    server.close();
    throw new VrdmaError('TRANSPORT', `cannot listen at ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    rmSync(privateDir, { recursive: true, force: true });
  }
  const { dev, ino } = statSync(path);
  return {
    release() {
      try {
        const now = lstatSync(path);
        if (now.dev === dev && now.ino === ino) unlinkSync(path);
      } catch {
        // Gone already: nothing of ours to remove.
      }
    },
  };
}

async function refuseUnlessStale(path: string): Promise<void> {
  let stats: ReturnType<typeof lstatSync>;
  try {
    stats = lstatSync(path);
  } catch {
    return; // nothing there
  }
  if (!stats.isSocket())
    throw new VrdmaError(
      'INVALID_ARGUMENT',
      `${path} exists and is not a socket: refusing to replace it`,
    );
  const live = await new Promise<boolean>((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) throw new VrdmaError('INVALID_ARGUMENT', `a host is already listening at ${path}`);
}
