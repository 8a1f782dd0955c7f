import { createHost, type Host, service } from '@vrdma/backend';
import { createLocalVerbsFabric, type VerbsFabric } from '@vrdma/engine-verbs';
import { unimemSpec } from '@vrdma/unimem-api';
import { type PingPongOptions, runPingPong, verbsSpec } from '@vrdma/verbs-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AttachSocket, openAttachSocket } from '../compose/attach-socket.js';
import { startThreadGuest } from '../compose/thread-guests.js';
import { pingPongBetween } from './guest-ping-pong.js';
import {
  startVerbsProcessGuest,
  startVerbsThreadGuest,
  type VerbsGuest,
  type VerbsGuestOptions,
} from './verbs-guests.js';

const PING_PONG: PingPongOptions = { sizes: [1, 7, 4096, 65_536], rounds: 2 };
const NOTHING_HELD = { held: {}, bytes: 0, calls: 0, memory: 0 };

let fabric: VerbsFabric;
/** One host per node, each serving Unimem and verbs on that node's engines. */
let hosts: Host[];
let sockets: AttachSocket[];
const guests: VerbsGuest[] = [];

beforeEach(() => {
  fabric = createLocalVerbsFabric({ nodes: [0, 1] });
  hosts = fabric.devices.map((device) =>
    createHost({
      services: [service(unimemSpec, device.unimem), service(verbsSpec, device)],
    }),
  );
  sockets = [];
});

afterEach(async () => {
  await Promise.allSettled(guests.splice(0).map((g) => g.kill()));
  for (const host of hosts) await host.close();
  for (const socket of sockets) await socket?.close();
  await fabric.shutdown();
});

/** What host `node` shows of a guest now. */
function infoOf(node: number, label: string) {
  const found = hosts[node]!.guests().find((g) => g.label === label);
  if (!found) throw new Error(`host ${node} has no guest ${label}`);
  return found;
}

async function guestOn(
  node: number,
  kind: 'thread' | 'process',
  options: VerbsGuestOptions,
): Promise<VerbsGuest> {
  let guest: VerbsGuest;
  if (kind === 'thread') guest = await startVerbsThreadGuest(hosts[node]!, options);
  else {
    sockets[node] ??= await openAttachSocket(hosts[node]!);
    guest = await startVerbsProcessGuest(sockets[node]!, options);
  }
  guests.push(guest);
  return guest;
}

/**
 * A hang guard, not a bound on speed: a test here starts up to four guests, two of them
 * processes, which takes long on a machine that runs other suites at once.
 */
const PATIENCE_MS = 120_000;

describe('verbs guests of a host that serves Unimem and verbs', { timeout: PATIENCE_MS }, () => {
  it('run the ping-pong natively, as threads and as processes, with the same results', async () => {
    const a = fabric.device(0).openSession({ label: 'native-a' });
    const b = fabric.device(1).openSession({ label: 'native-b' });
    await a.open();
    await b.open();
    const native = await runPingPong(a, b, PING_PONG);
    await a.dispose();
    await b.dispose();
    expect(native.a.steps.every((s) => s.status === 'success')).toBe(true);
    expect(native.a.bytesVerified).toBe(2 * 2 * (1 + 7 + 4096 + 65_536));

    for (const kind of ['thread', 'process'] as const) {
      const ga = await guestOn(0, kind, { label: `${kind}-a`, memoryBytes: 4 << 20 });
      const gb = await guestOn(1, kind, { label: `${kind}-b`, memoryBytes: 4 << 20 });
      expect(infoOf(0, ga.label).api).toBe('verbs');
      const remoted = await pingPongBetween(ga, gb, PING_PONG);
      expect(remoted, `${kind} guests`).toEqual(native);
      // The ping-pong released what it made: the guests hold nothing but their memory.
      expect(infoOf(0, ga.label).ledger.held).toEqual({});
    }
  });

  it('serves a Unimem guest and a verbs guest at once, on one host', async () => {
    const peer = fabric.device(0).unimem.openSession({ label: 'peer' });
    await peer.open();
    const target = await peer.alloc({ size: 1 << 16 });
    const { key, address } = await peer.exportBuffer({
      buffer: target.buffer,
      access: 'read-write',
    });
    const unimemGuest = await startThreadGuest(hosts[0]!, {
      label: 'unimem-app',
      memoryBytes: 4 << 20,
    });
    const verbsA = await guestOn(0, 'thread', { label: 'verbs-a', memoryBytes: 4 << 20 });
    const verbsB = await guestOn(1, 'process', { label: 'verbs-b', memoryBytes: 4 << 20 });
    try {
      const [verified, pingPong] = await Promise.all([
        unimemGuest.run({
          kind: 'verify',
          target: { address, key, length: 1 << 16 },
          size: 1 << 16,
          seed: 5,
        }),
        pingPongBetween(verbsA, verbsB, PING_PONG),
      ]);
      expect(verified).toEqual({
        kind: 'verify',
        result: { node: 0, bytes: 1 << 16, written: true, readBack: true },
      });
      expect(pingPong.a.steps.every((s) => s.status === 'success')).toBe(true);
      expect(pingPong.b.bytesVerified).toBe(2 * 2 * (1 + 7 + 4096 + 65_536));
      const apis = Object.fromEntries(hosts[0]!.guests().map((g) => [g.label, g.api]));
      expect(apis).toEqual({ 'unimem-app': 'unimem', 'verbs-a': 'verbs' });
    } finally {
      await unimemGuest.kill();
      await peer.dispose();
    }
  });

  for (const kind of ['process', 'thread'] as const) {
    it(`releases everything of a ${kind} guest killed with work requests in flight`, async () => {
      const guest = await guestOn(0, kind, { label: `doomed-${kind}`, memoryBytes: 1 << 20 });
      const bystander = await guestOn(0, 'thread', { label: 'bystander', memoryBytes: 4 << 20 });
      const other = await guestOn(1, 'thread', { label: 'other', memoryBytes: 4 << 20 });
      guest.send({ kind: 'hold-in-flight' });
      const held = await guest.next();
      expect(held).toMatchObject({ kind: 'result', result: { polled: 0, state: 'rts' } });
      const { qpNums } = (held as { result: { qpNums: number[] } }).result;
      const { directory } = fabric.device(0);
      expect(qpNums.map((n) => directory.lookup(0, n)?.state)).toEqual(['rts', 'rts']);
      expect(infoOf(0, guest.label).ledger).toMatchObject({
        held: { Pd: 2, Cq: 2, Qp: 2, Mr: 2 },
        bytes: 8192,
      });
      await guest.kill();
      guests.splice(guests.indexOf(guest), 1);
      expect((await guest.attached.departed).ledger).toEqual(NOTHING_HELD);
      // The engine let go of its queue pairs too: no peer can reach them any more.
      expect(qpNums.map((n) => directory.lookup(0, n))).toEqual([undefined, undefined]);
      // The host kept serving the others.
      const after = await pingPongBetween(bystander, other, { sizes: [64], rounds: 1 });
      expect(after.a.steps.every((s) => s.status === 'success')).toBe(true);
    });
  }
});
