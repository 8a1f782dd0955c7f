import { setTimeout as sleep } from 'node:timers/promises';
import {
  createCodec,
  createMemoryTransportPair,
  decodeFrame,
  FrameKind,
  type Handle,
  type PostedOutcome,
  VrdmaError,
} from '@vrdma/api-spec';
import { createMockCluster, type MockCluster } from '@vrdma/engine-mock';
import { connect } from '@vrdma/frontend';
import { createSharedRegion } from '@vrdma/memory';
import { createChannelPair, DEFAULT_RING_SHAPE } from '@vrdma/transport-shm';
import {
  type Completion,
  type GlobalAddress,
  offsetAddress,
  unimemSession,
  unimemSpec,
} from '@vrdma/unimem-api';
import { afterEach, describe, expect, it } from 'vitest';
import { createHost, type Host } from './host.js';
import { HostQueues } from './host-queues.js';
import { service } from './service.js';

let cluster: MockCluster;
let host: Host;
let nextRegion = 700;
const codec = createCodec(unimemSpec);
const writeFn = unimemSpec.lookup('write')!;

afterEach(async () => {
  await host?.close();
});

function start(limits: NonNullable<Parameters<typeof createMockCluster>[0]>['limits'] = {}): Host {
  cluster = createMockCluster({ nodes: [0, 1], limits });
  host = createHost({ services: [service(unimemSpec, cluster.engine(0))] });
  return host;
}

/** Until `done` holds, or a generous number of turns passed (counters, not clocks). */
async function until(done: () => boolean, turns = 3000): Promise<void> {
  for (let i = 0; i < turns && !done(); i++) await sleep(1);
}

/** A guest joined by a real shm channel for its data plane (so the host can push completions). */
async function shmGuest(label: string, memorySize = 1 << 20, shape = DEFAULT_RING_SHAPE) {
  const memory = createSharedRegion(nextRegion++, memorySize);
  const control = createMemoryTransportPair();
  const data = createChannelPair({ shape, poll: { spinBudgetUs: 20, sleepTimeoutMs: 20 } });
  // Completion frames as they reach the guest's library.
  const seen = { completions: 0 };
  const queues = data.client.queues;
  const onCompletions = queues.onCompletions.bind(queues);
  queues.onCompletions = (sink) =>
    onCompletions((frame) => {
      seen.completions++;
      sink(frame);
    });
  const attached = host.attach({ label, control: control.server, data: data.server, memory });
  const connection = await connect({
    spec: unimemSpec,
    control: control.client,
    data: data.client,
    memory,
    label,
  });
  const device = unimemSession(connection);
  await device.open();
  return { device, connection, attached, memory, data, seen };
}

/** A buffer on node 1, exported for writing, as a remote peer offers it. */
async function remotePeer(size: number) {
  const peer = cluster.engine(1).openSession({ label: 'peer' });
  await peer.open();
  const buffer = await peer.alloc({ size });
  const { key, address } = await peer.exportBuffer({ buffer: buffer.buffer, access: 'read-write' });
  return { peer, buffer, key, address: address as GlobalAddress };
}

/** Reaps until `count` completions came back (or the turns ran out). */
async function reap(
  device: Awaited<ReturnType<typeof shmGuest>>['device'],
  channel: Handle<'Channel'>,
  count: number,
): Promise<Completion[]> {
  const out: Completion[] = [];
  for (let i = 0; i < 200 && out.length < count; i++)
    out.push(...(await device.wait({ channel, timeoutMs: 50 })).completions);
  return out;
}

describe('posted calls through the host', () => {
  it('writes complete ok, carrying the guest’s tokens', async () => {
    start();
    const target = await remotePeer(4096);
    const g = await shmGuest('writer');
    const buffer = await g.device.alloc({ size: 4096 });
    const { channel } = await g.device.openChannel({ depth: 8 });
    g.device.view(buffer.ref).fill(0x5a);
    const tokens: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { transfer } = await g.device.write({
        channel,
        local: { ...buffer.ref, length: 1024 },
        remote: offsetAddress(target.address, 1024 * i),
        key: target.key,
      });
      tokens.push(transfer);
    }
    expect(tokens).toEqual([0, 1, 2]);
    const done = await reap(g.device, channel, 3);
    expect(done.map((c) => [c.transfer, c.status, c.bytes])).toEqual([
      [0, 'ok', 1024],
      [1, 'ok', 1024],
      [2, 'ok', 1024],
    ]);
    expect(
      target.peer
        .view(target.buffer.ref)
        .subarray(0, 3072)
        .every((b) => b === 0x5a),
    ).toBe(true);
    // The writes were posted: they went over the data plane with no reply each.
    expect(g.data.client.metrics.messages).toBe(3);
    expect(g.seen.completions).toBeGreaterThan(0);
  });

  it('a wait aborted while it sleeps fails ABORTED, and the queue goes on', async () => {
    start();
    const target = await remotePeer(4096);
    const g = await shmGuest('aborter');
    const buffer = await g.device.alloc({ size: 4096 });
    const { channel } = await g.device.openChannel({ depth: 8 });
    const controller = new AbortController();
    let outcome: unknown;
    const waiting = g.connection.api
      .wait({ channel, timeoutMs: 600_000 }, { signal: controller.signal })
      .then(
        () => 'resolved',
        (error: unknown) => error,
      )
      .then((o) => {
        outcome = o;
      });
    for (let i = 0; i < 20; i++) await sleep(1);
    expect(outcome).toBeUndefined();
    controller.abort();
    await until(() => outcome !== undefined);
    await waiting;
    expect(outcome).toMatchObject({ code: 'ABORTED' });
    const { transfer } = await g.device.write({
      channel,
      local: { ...buffer.ref, length: 64 },
      remote: target.address,
      key: target.key,
    });
    expect(await reap(g.device, channel, 1)).toEqual([{ transfer, status: 'ok', bytes: 64 }]);
  });

  it('a post the host or the engine refuses comes back as a refused completion with its code', async () => {
    start({ maxTransfer: 2048 });
    const target = await remotePeer(8192);
    const g = await shmGuest('refused');
    const buffer = await g.device.alloc({ size: 4096 });
    const { channel } = await g.device.openChannel({ depth: 8 });
    const write = (length: number) =>
      g.device.write({
        channel,
        local: { ...buffer.ref, length },
        remote: target.address,
        key: target.key,
      });
    expect((await write(1024)).transfer).toBe(0);
    expect((await write(0xffff_ffff)).transfer).toBe(1); // past its memory: isolation refuses
    expect((await write(1024)).transfer).toBe(2);
    expect((await write(4096)).transfer).toBe(3); // over maxTransfer: the engine refuses
    expect((await write(1024)).transfer).toBe(4);
    const done = await reap(g.device, channel, 5);
    const byToken = new Map(done.map((c) => [c.transfer, c]));
    expect(done).toHaveLength(5);
    expect(byToken.get(0)).toMatchObject({ status: 'ok', bytes: 1024 });
    expect(byToken.get(1)).toEqual({
      transfer: 1,
      status: 'refused',
      bytes: 0,
      error: 'OUT_OF_RANGE',
    });
    expect(byToken.get(2)).toMatchObject({ status: 'ok', bytes: 1024 });
    expect(byToken.get(3)).toEqual({ transfer: 3, status: 'refused', bytes: 0, error: 'TOO_LONG' });
    expect(byToken.get(4)).toMatchObject({ status: 'ok', bytes: 1024 });
    // Each token once; the ok ones in the order they were posted.
    expect(done.filter((c) => c.status === 'ok').map((c) => c.transfer)).toEqual([0, 2, 4]);
    return done.map((c) => c.transfer);
  });

  it('a posted frame naming another guest’s channel is refused, audited, and reported to nobody', async () => {
    start();
    const target = await remotePeer(4096);
    const owner = await shmGuest('owner');
    const ownerBuffer = await owner.device.alloc({ size: 4096 });
    const { channel } = await owner.device.openChannel({ depth: 8 });
    const hostile = await shmGuest('hostile');
    const hostileBuffer = await hostile.device.alloc({ size: 4096 });
    const ownerWrite = () =>
      owner.device.write({
        channel,
        local: { ...ownerBuffer.ref, length: 512 },
        remote: target.address,
        key: target.key,
      });
    expect((await ownerWrite()).transfer).toBe(0);

    // The hostile guest has no channel; it posts a raw frame naming the owner's, as a number.
    const frame = codec.encodeRequest(
      writeFn,
      0,
      {
        channel,
        local: { ...hostileBuffer.ref, length: 512 },
        remote: target.address,
        key: target.key,
        fence: false,
      },
      FrameKind.Post,
    );
    await hostile.data.client.queues.post(frame, { fn: writeFn, callId: 0 });
    await until(
      () => host.audit.list({ guest: hostile.attached.id, kind: 'isolation' }).length > 0,
    );
    const audited = host.audit.list({ guest: hostile.attached.id, kind: 'isolation' });
    expect(audited).toHaveLength(1);
    expect(audited[0]!.message).toMatch(/^write: /);
    expect(host.guests().find((g) => g.label === 'hostile')!.metrics.errors).toEqual({
      BAD_HANDLE: 1,
    });

    // The owner's queue goes on, untouched: its own tokens, nothing of the hostile post.
    expect((await ownerWrite()).transfer).toBe(1);
    const done = await reap(owner.device, channel, 2);
    expect(done.map((c) => [c.transfer, c.status])).toEqual([
      [0, 'ok'],
      [1, 'ok'],
    ]);
    expect(host.audit.list({ guest: owner.attached.id, kind: 'isolation' })).toHaveLength(0);
    // Nothing reached the hostile guest: it has no queue to be told in.
    await hostile.device.query();
    expect(hostile.seen.completions).toBe(0);
    expect(host.guests().find((g) => g.label === 'hostile')!.ledger.held).toEqual({ Buffer: 1 });
  });
});

describe('a guest that posts refusals and never reads its completions', () => {
  it('is let go once the host holds maxRefusalsHeld for it (HostQueues)', async () => {
    const pushes: Uint8Array[] = [];
    const overflows: VrdmaError[] = [];
    let reaps = 0;
    const queues = new HostQueues({
      spec: unimemSpec,
      codec,
      // The guest never reads: the first frame fills its ring, and the push never resolves.
      push: (frame) => {
        pushes.push(frame);
        return new Promise(() => {});
      },
      reap: async () => {
        reaps++;
        return { completions: [] };
      },
      holds: (kind, handle) => kind === 'Channel' && handle === 5,
      finished: () => {},
      onOverflow: (reason) => overflows.push(reason),
      maxRefusalsHeld: 8,
    });
    const refusal = (token: number, queue = 5): PostedOutcome => ({
      fn: writeFn,
      token,
      queue,
      error: new VrdmaError('OUT_OF_RANGE', 'not yours'),
    });

    // A refusal naming a queue the guest does not hold is reported to no one.
    queues.accept(refusal(0, 6));
    expect(queues.unreported).toBe(1);
    expect(queues.held).toBe(0);

    let accepted = 0;
    while (overflows.length === 0 && accepted < 1000) queues.accept(refusal(accepted++));
    expect(overflows).toHaveLength(1);
    expect(overflows[0]!.code).toBe('QUOTA_EXCEEDED');
    // One frame is in the (full) ring's push; then 8 are held, and the 9th is one too many.
    expect(pushes).toHaveLength(1);
    expect(accepted).toBe(1 + 8 + 1);
    expect(reaps).toBe(0);
    // Stopped: nothing more is kept, nothing more is reported.
    expect(queues.held).toBe(0);
    for (let i = 0; i < 100; i++) queues.accept(refusal(accepted + i));
    expect(queues.held).toBe(0);
    expect(overflows).toHaveLength(1);
  });

  it('the refused entry carries the code; a code the entries cannot carry becomes INTERNAL', async () => {
    const frames: Uint8Array[] = [];
    const queues = new HostQueues({
      spec: unimemSpec,
      codec,
      push: async (frame) => {
        frames.push(frame);
      },
      reap: async () => ({ completions: [] }),
      holds: () => true,
      finished: () => {},
      onOverflow: () => {},
    });
    queues.accept({ fn: writeFn, token: 3, queue: 1, error: new VrdmaError('TOO_LONG', '') });
    queues.accept({
      fn: writeFn,
      token: 4,
      queue: 1,
      error: new VrdmaError('NOT_A_CODE' as 'INTERNAL', ''),
    });
    await until(() => frames.length >= 1 && entriesOf(frames).length === 2, 100);
    expect(entriesOf(frames)).toEqual([
      { transfer: 3, status: 'refused', bytes: 0, error: 'TOO_LONG' },
      { transfer: 4, status: 'refused', bytes: 0, error: 'INTERNAL' },
    ]);
  });

  it('over the transport: the host disconnects it, another guest keeps completing, nothing is left', async () => {
    start({ maxQueueDepth: 0xffff });
    const target = await remotePeer(4096);
    const flooder = await shmGuest('flooder');
    const fBuffer = await flooder.device.alloc({ size: 4096 });
    const fChannel = (await flooder.device.openChannel({ depth: 0xffff })).channel;
    const steady = await shmGuest('steady');
    const sBuffer = await steady.device.alloc({ size: 4096 });
    const sChannel = (await steady.device.openChannel({ depth: 8 })).channel;
    let gone: string | undefined;
    void flooder.attached.departed.then((d) => {
      gone = d.reason;
    });
    const refusedBy = () =>
      host.guests().find((g) => g.label === 'flooder')?.metrics.errors.OUT_OF_RANGE ?? 0;

    let posted = 0;
    let steadyDone = 0;
    // Bursts smaller than the request ring, each taken by the host before the next: the
    // flooder never waits for room, so it never runs the loop that would read its completions.
    for (let burst = 0; burst < 400 && gone === undefined; burst++) {
      for (let i = 0; i < 32 && flooder.data.client.disconnected === undefined; i++) {
        await flooder.device
          .write({
            channel: fChannel,
            local: { ...fBuffer.ref, length: 0xffff_ffff },
            remote: target.address,
            key: target.key,
          })
          .catch(() => {});
        posted++;
      }
      await until(() => gone !== undefined || refusedBy() === posted, 500);
      if (burst % 16 === 0) {
        const { transfer } = await steady.device.write({
          channel: sChannel,
          local: { ...sBuffer.ref, length: 256 },
          remote: target.address,
          key: target.key,
        });
        const [done] = await reap(steady.device, sChannel, 1);
        expect(done).toEqual({ transfer, status: 'ok', bytes: 256 });
        steadyDone++;
      }
    }
    const departed = await flooder.attached.departed;
    expect(departed.reason).toMatch(/QUOTA_EXCEEDED|completion queues the guest does not read/);
    // It took more refusals than the host holds (4096) before it was let go, and not unboundedly many.
    expect(posted).toBeGreaterThan(4096);
    // Beyond those: a completion ring full of refusals (16 a frame), and a few in transit.
    expect(posted).toBeLessThan(4096 + DEFAULT_RING_SHAPE.slotCount * 16 + 32 * 2);
    expect(departed.ledger).toEqual({ held: {}, bytes: 0, calls: 0, memory: 0 });
    expect(steadyDone).toBeGreaterThan(1);

    // The other guest is unaffected.
    const { transfer } = await steady.device.write({
      channel: sChannel,
      local: { ...sBuffer.ref, length: 256 },
      remote: target.address,
      key: target.key,
    });
    expect(await reap(steady.device, sChannel, 1)).toEqual([
      { transfer, status: 'ok', bytes: 256 },
    ]);
  });
});

describe('a completion frame larger than the ring slot', () => {
  /** HostQueues whose push refuses, as a ring does, any frame over `maxFrame` bytes. */
  function slotLimited(maxFrame: number) {
    const frames: Uint8Array[] = [];
    const overflows: VrdmaError[] = [];
    const queues = new HostQueues({
      spec: unimemSpec,
      codec,
      push: async (frame) => {
        if (frame.length > maxFrame) throw new VrdmaError('INTERNAL', 'frame exceeds a slot');
        frames.push(frame);
      },
      maxFrame,
      reap: async () => ({ completions: [] }),
      holds: () => true,
      finished: () => {},
      onOverflow: (reason) => overflows.push(reason),
    });
    return { queues, frames, overflows };
  }
  const refusal = (token: number): PostedOutcome => ({
    fn: writeFn,
    token,
    queue: 1,
    error: new VrdmaError('TOO_LONG', ''),
  });

  it('lets the guest go with the reason, instead of dropping its completions unsaid', async () => {
    const { queues, frames, overflows } = slotLimited(64);
    queues.accept(refusal(0));
    await until(() => overflows.length > 0, 200);
    expect(frames).toEqual([]);
    expect(overflows).toHaveLength(1);
    expect(overflows[0]!.message).toMatch(/completion frame of poll takes \d+ bytes.*at most 64/);
    expect(queues.held).toBe(0);
  });

  it('through a real host: the guest whose ring cannot take a completion leaves, saying why', async () => {
    start();
    const target = await remotePeer(4096);
    // Posts fit these slots; Unimem's completion frame (190 bytes) does not.
    const g = await shmGuest('narrow', 1 << 20, { slotCount: 64, slotSize: 160 });
    const buffer = await g.device.alloc({ size: 4096 });
    const { channel } = await g.device.openChannel({ depth: 8 });
    await g.device.write({
      channel,
      local: { ...buffer.ref, length: 64 },
      remote: target.address,
      key: target.key,
    });
    const departed = await g.attached.departed;
    expect(departed.reason).toMatch(/completion frame of poll takes 190 bytes.*at most 156/);
    expect(departed.ledger).toEqual({ held: {}, bytes: 0, calls: 0, memory: 0 });
  });

  it('the shm channel tells the host how large a frame its ring takes', async () => {
    const data = createChannelPair({ shape: { slotCount: 8, slotSize: 64 } });
    expect(data.server.maxPushFrame).toBe(60);
    await data.client.close();
    await data.server.close();
  });
});

function entriesOf(frames: Uint8Array[]) {
  const poll = unimemSpec.lookup('poll')!;
  return frames.flatMap(
    (frame) =>
      (codec.decodeResult(poll, decodeFrame(frame)) as { completions: Completion[] }).completions,
  );
}

describe('zero copy of a posted write', () => {
  it('lands in the very memory the target guest views, with no call of the target’s', async () => {
    start();
    const writer = await shmGuest('writer');
    const reader = await shmGuest('reader');
    const size = 64 * 1024;
    const source = await writer.device.alloc({ size });
    const sink = await reader.device.alloc({ size });
    const { key, address } = await reader.device.exportBuffer({
      buffer: sink.buffer,
      access: 'write',
    });
    const { channel } = await writer.device.openChannel({ depth: 4 });

    // The reader's view is its region's memory itself: a subarray of the SharedArrayBuffer it
    // shares with the host, not a copy.
    const view = reader.device.view(sink.ref);
    const mapping = new Uint8Array(
      reader.memory.bytes.buffer,
      reader.memory.bytes.byteOffset + sink.ref.offset,
      size,
    );
    expect(view.buffer).toBe(reader.memory.bytes.buffer);
    expect(view.byteOffset).toBe(mapping.byteOffset);
    view[0] = 0xa5;
    expect(mapping[0]).toBe(0xa5);
    mapping[1] = 0x5a;
    expect(view[1]).toBe(0x5a);
    view.fill(0);

    const bytes = writer.device.view(source.ref);
    for (let i = 0; i < size; i++) bytes[i] = (i * 7 + 3) & 0xff;
    const readerCalls = () => ({
      served: host.guests().find((g) => g.label === 'reader')!.metrics.calls,
      control: reader.connection.metrics.control.messages,
      data: reader.connection.metrics.data?.messages,
    });
    const before = JSON.stringify(readerCalls());

    const { transfer } = await writer.device.write({
      channel,
      local: source.ref,
      remote: address as GlobalAddress,
      key,
    });
    expect(await reap(writer.device, channel, 1)).toEqual([
      { transfer, status: 'ok', bytes: size },
    ]);

    // The reader made no call since: the bytes got into its memory only by the engine's write.
    expect(JSON.stringify(readerCalls())).toBe(before);
    let same = true;
    for (let i = 0; i < size && same; i++) same = mapping[i] === ((i * 7 + 3) & 0xff);
    expect(same).toBe(true);
    expect(Buffer.compare(view, bytes)).toBe(0);
    // And the writer's source was read in place: its own mapping is its region's memory too.
    expect(bytes.buffer).toBe(writer.memory.bytes.buffer);
  });
});
