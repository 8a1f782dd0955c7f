import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { mapWindows } from '@vrdma/memory';
import type { GlobalAddress } from '@vrdma/unimem-api';
import { afterEach, describe, expect, it } from 'vitest';
import { type LibfabricTcpNode, startLibfabricNode } from './index.js';
import {
  loopbackCluster,
  type PeerProcess,
  startPeerProcess,
} from './test-fixtures/peer-process.js';
import { reap } from './test-fixtures/reap.js';

const SHM = '/dev/shm';
// The head of a region of libfabric 1.17's shm provider: version 4, the owner's pid at byte 4,
// its spinlock at byte 24. glibc's spinlock on x86-64 is 1 when free and 0 when held; the
// generic one (other architectures) is 0 when free and 1 when held.
const SMR_VERSION = 4;
const PID_AT = 4;
const LOCK_AT = 24;
const HELD = process.arch === 'x64' ? 0 : 1;

async function until(condition: () => boolean): Promise<boolean> {
  for (let round = 0; round < 600 && !condition(); round++)
    await new Promise((resolve) => setTimeout(resolve, 50));
  return condition();
}

describe('engine-libfabric over shm, a peer that dies holding the lock of its region', () => {
  let local: LibfabricTcpNode | undefined;
  let peer: PeerProcess | undefined;

  afterEach(async () => {
    peer?.child.kill('SIGKILL');
    await peer?.exited;
    await local?.close();
    local = undefined;
    peer = undefined;
  });

  it('does not wedge the node: the lock is released, the write ends node-down and the dead peer’s file goes', async () => {
    const cluster = await loopbackCluster('shm', [0, 1]);
    const starting = startPeerProcess(cluster, 1, 1 << 20);
    local = await startLibfabricNode({ node: 0, cluster });
    peer = await starting;
    await local.whenConnected();
    const session = local.engine.openSession();
    await session.open();
    const { channel } = await session.openChannel({ depth: 4 });
    const out = await session.alloc({ size: 4096 });
    const write = () =>
      session.write({
        channel,
        local: out.ref,
        remote: peer!.address as GlobalAddress,
        key: peer!.key,
      });
    await write();
    expect(await reap(session, channel, 1)).toMatchObject([{ status: 'ok' }]);

    // The peer's region, as libfabric names it: `<pid>:<uid>:<endpoint index>` under /dev/shm.
    const pid = peer.child.pid!;
    const file = readdirSync(SHM).find((name) => name.startsWith(`${pid}:`));
    expect(file, `no region of process ${pid} under ${SHM}`).toBeDefined();
    const path = join(SHM, file!);
    const fd = openSync(path, 'r+');
    const [head] = mapWindows(fd, [{ id: 1, offset: 0, size: 4096 }]);
    closeSync(fd);
    const fields = new DataView(head!.bytes.buffer);
    expect(fields.getUint8(0)).toBe(SMR_VERSION);
    expect(fields.getInt32(PID_AT, true)).toBe(pid);

    // Hold the lock as a process killed inside libfabric's progress leaves it, and have the
    // peer killed while this node's next write already spins on it: the write blocks this
    // thread, so the kill comes from another process.
    fields.setInt32(LOCK_AT, HELD, true);
    const killer = spawn('sh', ['-c', `sleep 0.5; kill -9 ${pid}`], { stdio: 'ignore' });
    await write();
    await new Promise((resolve) => killer.once('exit', resolve));

    // The write returned, so the lock was let go; the node hears of the death and the write
    // that went to the dead peer ends node-down.
    expect(fields.getInt32(LOCK_AT, true)).not.toBe(HELD);
    const ended = await reap(session, channel, 1);
    expect(ended).toMatchObject([{ status: 'node-down' }]);
    await peer.exited;
    // SIGKILL left the region's file behind; the node removes it once the process is gone.
    expect(await until(() => !existsSync(path))).toBe(true);
    await session.free({ buffer: out.buffer });
  }, 60_000);
});
