/**
 * A guest process doing random valid work with every function of the Unimem API, checking
 * every byte it moves:
 *   churn-guest <socket path> <label> <seed> <phase to announce: attach|alloc|transfer|none>
 * It prints JSON lines (written synchronously, so that a line printed before a blocking call
 * is out before it): `phase` once it enters the announced phase (a crash campaign strikes
 * then), `ready`, a `report` of its counts every 200 ms, and `final` after a line on stdin asks
 * it to stop. Counts: ops (API calls), lost (a valid call that failed, a transfer that never
 * completed or did not end 'ok'), corrupted (bytes read back that differ from those written).
 */
import { writeSync } from 'node:fs';
import type { Handle } from '@vrdma/api-spec';
import type { GlobalAddress } from '@vrdma/unimem-api';
import { openRemoteDevice, type RemoteDevice } from '../compose/remote-device.js';

const [path, label, seedArg, announce] = process.argv.slice(2) as [string, string, string, string];
const counts = { ops: 0, lost: 0, corrupted: 0 };
let random = Number(seedArg) >>> 0 || 1;
/** xorshift32: reproducible per seed, and cheap. */
function next(max: number): number {
  random ^= random << 13;
  random >>>= 0;
  random ^= random >>> 17;
  random ^= random << 5;
  random >>>= 0;
  return random % max;
}

function print(line: Record<string, unknown>): void {
  writeSync(1, `${JSON.stringify(line)}\n`);
}

let stopping = false;
process.stdin.on('data', () => {
  stopping = true;
});
process.stdin.on('end', () => {
  stopping = true;
});

/** Counts a call; a valid call that fails is lost work. */
async function op<T>(call: () => Promise<T>): Promise<T | undefined> {
  counts.ops++;
  try {
    return await call();
  } catch (error) {
    counts.lost++;
    process.stderr.write(`${label}: ${error instanceof Error ? error.message : String(error)}\n`);
    return undefined;
  }
}

let announced = false;
/** Says once that the announced phase begins; the warm-up first, so the guest holds things. */
function enter(phase: string): void {
  if (announced || phase !== announce || counts.ops < 40) return;
  announced = true;
  print({ t: 'phase', phase });
}

/** Waits for the completion of every transfer in `pending`; each must end 'ok'. */
async function reap(device: RemoteDevice, channel: Handle<'Channel'>, pending: Set<number>) {
  const deadline = Date.now() + 60_000;
  while (pending.size > 0 && Date.now() < deadline) {
    const reaped = await op(() =>
      next(2) === 0 ? device.poll({ channel }) : device.wait({ channel, timeoutMs: 200 }),
    );
    for (const c of reaped?.completions ?? []) {
      if (!pending.delete(c.transfer)) continue;
      if (c.status !== 'ok') {
        counts.lost++;
        process.stderr.write(
          `${label}: transfer ${c.transfer} ended ${c.status} ${c.error ?? ''}\n`,
        );
      }
    }
  }
  counts.lost += pending.size;
  pending.clear();
}

/**
 * One round: buffers, an export, a channel, a burst of writes of a pattern and reads back,
 * every byte compared, then everything released (sometimes by `close`, which releases all).
 */
async function round(device: RemoteDevice): Promise<void> {
  await op(() => device.query());
  const size = 64 * (1 + next(1024));
  enter('alloc');
  const burst = announced && announce === 'alloc' ? 32 : 0;
  for (let i = 0; i < burst; i++) {
    const extra = await op(() => device.alloc({ size: 4096 }));
    if (extra) await op(() => device.free({ buffer: extra.buffer }));
  }
  const source = await op(() => device.alloc({ size }));
  const target = await op(() => device.alloc({ size }));
  const back = await op(() => device.alloc({ size }));
  if (!source || !target || !back) return;
  const exported = await op(() =>
    device.exportBuffer({ buffer: target.buffer, access: 'read-write' }),
  );
  const opened = await op(() => device.openChannel({ depth: 64 }));
  if (!exported || !opened) return;
  const { channel } = opened;
  const sent = device.view(source.ref);
  const salt = next(256);
  for (let i = 0; i < size; i++) sent[i] = (i * 13 + salt + (i >>> 9)) & 0xff;
  enter('transfer');
  const writes = 1 + next(announced && announce === 'transfer' ? 48 : 8);
  const pending = new Set<number>();
  for (let i = 0; i < writes; i++) {
    const posted = await op(() =>
      device.write({
        channel,
        local: source.ref,
        remote: exported.address as GlobalAddress,
        key: exported.key,
      }),
    );
    if (posted) pending.add(posted.transfer);
  }
  const read = await op(() =>
    device.read({
      channel,
      local: back.ref,
      remote: exported.address as GlobalAddress,
      key: exported.key,
      fence: true,
    }),
  );
  if (read) pending.add(read.transfer);
  await reap(device, channel, pending);
  if (Buffer.compare(device.view(back.ref), sent) !== 0) counts.corrupted++;
  if (Buffer.compare(device.view(target.ref), sent) !== 0) counts.corrupted++;
  if (next(8) === 0) {
    // close releases everything at once; the device is opened again for the next round.
    await op(() => device.close());
    await op(() => device.open());
    return;
  }
  await op(() => device.revoke({ key: exported.key }));
  await op(() => device.closeChannel({ channel }));
  for (const buffer of [source, target, back])
    await op(() => device.free({ buffer: buffer.buffer }));
}

if (announce === 'attach') print({ t: 'phase', phase: 'attach' });
const device = await openRemoteDevice(path, { label, memoryBytes: 8 << 20 });
counts.ops++; // its open
device.connection.onDisconnect(() => process.exit(4));
print({ t: 'ready' });
const reporter = setInterval(() => print({ t: 'report', ...counts }), 200);
while (!stopping) await round(device);
clearInterval(reporter);
print({ t: 'final', ...counts });
await device.dispose();
process.exit(0);
