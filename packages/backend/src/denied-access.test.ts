import { createMemoryTransportPair, type Handle, isVrdmaError } from '@vrdma/api-spec';
import { createMockCluster, type MockCluster } from '@vrdma/engine-mock';
import { connect } from '@vrdma/frontend';
import { createSharedRegion } from '@vrdma/memory';
import { createChannelPair } from '@vrdma/transport-shm';
import {
  type GlobalAddress,
  offsetAddress,
  type UnimemSession,
  unimemSession,
  unimemSpec,
} from '@vrdma/unimem-api';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditRecord } from './audit-log.js';
import { auditPrinter } from './audit-printer.js';
import { createHost, type Host, type HostOptions } from './host.js';
import { service } from './service.js';
import { pingPongApp } from './testing/app.js';
import { inProcessGuest } from './testing/in-process.js';

let cluster: MockCluster;
let host: Host;

function start(config: HostOptions['config'], onAudit?: HostOptions['onAudit']): Host {
  cluster = createMockCluster({ nodes: [0, 1] });
  host = createHost({ services: [service(unimemSpec, cluster.engine(0))], config, onAudit });
  return host;
}

/** A buffer on node 1, exported to anyone, as a remote peer would offer it. */
async function remotePeer(size: number) {
  const peer = cluster.engine(1).openSession({ label: 'peer' });
  await peer.open();
  const buffer = await peer.alloc({ size });
  const { key, address } = await peer.exportBuffer({ buffer: buffer.buffer, access: 'read-write' });
  return { peer, buffer, key, address: address as GlobalAddress };
}

/** One guessed write, as a brute-forcing guest makes it: its completion, or how the call failed. */
async function guess(
  device: UnimemSession,
  channel: Handle<'Channel'>,
  local: { region: number; offset: number; length: number },
  remote: GlobalAddress,
  key: number,
): Promise<string> {
  try {
    const { transfer } = await device.write({ channel, local, remote, key });
    for (let i = 0; i < 100; i++) {
      const { completions } = await device.wait({ channel, timeoutMs: 100 });
      const done = completions.find((c) => c.transfer === transfer);
      if (done) return done.error ? `${done.status}:${done.error}` : done.status;
    }
    return 'no completion';
  } catch (error) {
    return isVrdmaError(error) ? `throws:${error.code}` : `throws:${String(error)}`;
  }
}

/** A guest whose data plane is a real shm channel: its writes are posted, reaped by the host. */
async function postingGuest(label: string) {
  const memory = createSharedRegion(900, 1 << 20);
  const control = createMemoryTransportPair();
  const data = createChannelPair({ poll: { spinBudgetUs: 20, sleepTimeoutMs: 20 } });
  const attached = host.attach({ label, control: control.server, data: data.server, memory });
  const connection = await connect({
    spec: unimemSpec,
    control: control.client,
    data: data.client,
    memory,
    label,
  });
  expect(connection.features).toContain('queues');
  const device = unimemSession(connection);
  await device.open();
  return { device, attached };
}

afterEach(async () => {
  await host?.close();
});

describe('a guest guessing keys', () => {
  it('gets the same answer for a wrong key and a wrong range, each counted and audited', async () => {
    start({});
    const target = await remotePeer(4096);
    const guest = await inProcessGuest(host, { label: 'guesser' });
    const { channel } = await guest.device.openChannel({ depth: 4 });
    const out = await guest.device.alloc({ size: 64 });
    const empty = { ...out.ref, length: 0 };
    const wrongKey = (target.key ^ 0x5a5a) >>> 0;
    const past = offsetAddress(target.address, 4096 + 64);
    const answers = [
      await guess(guest.device, channel, empty, target.address, wrongKey),
      await guess(guest.device, channel, empty, past, target.key),
      await guess(guest.device, channel, out.ref, target.address, wrongKey),
      await guess(guest.device, channel, out.ref, past, target.key),
    ];
    expect(answers).toEqual(Array(4).fill('no-permission'));
    const [info] = host.guests();
    expect(info!.metrics.denied).toBe(4);
    expect(info!.metrics.throttled).toBe(0);
    expect(host.audit.list({ guest: info!.id, kind: 'access' })).toHaveLength(4);
    // The right key and range still work: counting is no refusal while the budget lasts.
    expect(await guess(guest.device, channel, out.ref, target.address, target.key)).toBe('ok');
  });

  it('is throttled, then disconnected, while an honest guest beside it keeps working', async () => {
    const limits = { budget: 32, refillPerSecond: 0, disconnectAfter: 256 };
    start({ deniedAccess: limits, auditCapacity: 10_000 });
    const target = await remotePeer(4096);
    const honest = await inProcessGuest(host, { label: 'honest' });
    const hostile = await inProcessGuest(host, { label: 'hostile' });
    const { channel } = await hostile.device.openChannel({ depth: 4 });
    const out = await hostile.device.alloc({ size: 64 });

    const answers: string[] = [];
    let honestRuns = 0;
    for (let k = 1; answers.length < 1000; k++) {
      const answer = await guess(hostile.device, channel, out.ref, target.address, k);
      answers.push(answer);
      if (answer.startsWith('throws:') && answer !== 'throws:QUOTA_EXCEEDED') break;
      if (k % 64 === 0) {
        const run = await pingPongApp(honest.device, target, 4096);
        expect(run.statuses).toEqual(['write:ok', 'read:ok']);
        honestRuns++;
      }
    }
    // The budget's worth of guesses reach the engine; then every access is refused, typed (at
    // once, or in its completion when posted), and never reaches the engine.
    expect(answers.slice(0, 32)).toEqual(Array(32).fill('no-permission'));
    const refused = answers.slice(32, -1);
    expect(refused.length).toBeGreaterThan(0);
    for (const answer of new Set(refused))
      expect(['throws:QUOTA_EXCEEDED', 'refused:QUOTA_EXCEEDED']).toContain(answer);
    expect(answers.at(-1)).toBe('throws:DISCONNECTED');
    // Refusals after the budget count towards the hard limit: the guest is let go at 256.
    expect(32 + refused.length).toBeLessThanOrEqual(limits.disconnectAfter);
    const departed = await hostile.attached.departed;
    expect(departed.reason).toMatch(/failed access checks/);
    expect(departed.metrics.denied).toBe(32);
    expect(departed.metrics.denied + departed.metrics.throttled).toBe(limits.disconnectAfter);
    expect(host.audit.list({ guest: hostile.attached.id, kind: 'access' }).length).toBe(256);

    // The honest guest ran beside it, and runs on, with nothing counted against it.
    expect(honestRuns).toBeGreaterThan(0);
    expect((await pingPongApp(honest.device, target, 4096)).statuses).toEqual([
      'write:ok',
      'read:ok',
    ]);
    const [info] = host.guests();
    expect(info!.label).toBe('honest');
    expect([info!.metrics.denied, info!.metrics.throttled]).toEqual([0, 0]);
  });

  it('is throttled and disconnected alike when its accesses are posted and reaped by the host', async () => {
    const limits = { budget: 32, refillPerSecond: 0, disconnectAfter: 64 };
    start({ deniedAccess: limits });
    const target = await remotePeer(4096);
    const hostile = await postingGuest('poster');
    const { channel } = await hostile.device.openChannel({ depth: 4 });
    const out = await hostile.device.alloc({ size: 64 });
    const answers: string[] = [];
    for (let k = 1; answers.length < 200; k++) {
      const answer = await guess(hostile.device, channel, out.ref, target.address, k);
      answers.push(answer);
      if (answer.startsWith('throws:')) break;
    }
    expect(answers.slice(0, 32)).toEqual(Array(32).fill('no-permission'));
    expect(new Set(answers.slice(32, -1))).toEqual(new Set(['refused:QUOTA_EXCEEDED']));
    expect(answers.at(-1)).toMatch(/^throws:/);
    const departed = await hostile.attached.departed;
    expect(departed.metrics.denied + departed.metrics.throttled).toBe(limits.disconnectAfter);
  });

  it('floods the in-memory audit log, not the printed one', async () => {
    const lines: string[] = [];
    const printer = auditPrinter((line) => lines.push(line), { burst: 10, perSecond: 0 });
    start(
      {
        deniedAccess: { budget: 8, refillPerSecond: 0, disconnectAfter: 100_000 },
        auditCapacity: 10_000,
      },
      printer,
    );
    const target = await remotePeer(4096);
    const hostile = await inProcessGuest(host, { label: 'flood' });
    const { channel } = await hostile.device.openChannel({ depth: 4 });
    const out = await hostile.device.alloc({ size: 64 });
    for (let k = 1; k <= 2000; k++)
      await guess(hostile.device, channel, out.ref, target.address, k);
    const records = host.audit.list({ guest: hostile.attached.id, kind: 'access' });
    expect(records).toHaveLength(2000);
    const refusals = lines.filter((line) => line.startsWith('audit: guest flood'));
    expect(refusals).toHaveLength(10);

    await hostile.attached.detach();
    const last = lines.slice(-2);
    expect(last[0]).toBe('audit: guest flood: … 1990 more refused calls suppressed');
    expect(last[1]).toMatch(/^detach: guest flood/);
  });

  it('prints a guest’s held-back refusals as one line when its budget comes back', () => {
    const lines: string[] = [];
    let now = 0;
    const print = auditPrinter((line) => lines.push(line), {
      burst: 2,
      perSecond: 1,
      now: () => now,
    });
    const record = (guest: number, message: string): AuditRecord => ({
      at: 0,
      guest,
      label: `g${guest}`,
      kind: 'isolation',
      message,
    });
    for (let i = 0; i < 100; i++) print(record(1, `refused ${i}`));
    print(record(2, 'other guest'));
    now += 1000;
    print(record(1, 'refused 100'));
    expect(lines).toEqual([
      'audit: guest g1: refused 0',
      'audit: guest g1: refused 1',
      'audit: guest g2: other guest',
      'audit: guest g1: … 98 more refused calls suppressed',
      'audit: guest g1: refused 100',
    ]);
  });
});
