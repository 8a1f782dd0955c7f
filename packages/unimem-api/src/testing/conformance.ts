import { type Handle, isVrdmaError } from '@vrdma/api-spec';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { UnimemEngine, UnimemSession } from '../engine.js';
import { type GlobalAddress, makeGlobalAddress, nodeOf, offsetAddress } from '../global-address.js';
import type { Completion } from '../spec.js';

/** What an engine package provides to run the conformance suite against itself. */
export interface ConformanceTarget {
  name: string;
  /** A fresh cluster of at least two nodes, and how to tear it down. */
  setup(): Promise<{ engines: UnimemEngine[]; teardown(): Promise<void> }>;
}

type Buffer = Awaited<ReturnType<UnimemSession['alloc']>>;

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isVrdmaError(error), `expected a VrdmaError ${code}, got ${String(error)}`).toBe(true);
  expect((error as { code: string }).code).toBe(code);
}

/**
 * A transfer the engine or the host refuses with `code`: natively the call throws it; remoted,
 * the call is posted, so the refusal comes back in its completion (status 'refused').
 */
async function transferRefused(
  session: UnimemSession,
  channel: Handle<'Channel'>,
  post: Promise<{ transfer: number }>,
  code: string,
): Promise<void> {
  const outcome = await post.then(
    (posted) => posted,
    (error: unknown) => error,
  );
  if (!(outcome && typeof outcome === 'object' && 'transfer' in outcome))
    return rejectsWith(Promise.reject(outcome), code);
  const { transfer } = outcome as { transfer: number };
  const completion = await completionOf(session, channel, transfer);
  expect(completion.status, `transfer ${transfer}`).toBe('refused');
  expect(completion.error).toBe(code);
}

/** Byte-for-byte equality that stays fast on megabytes and names the first difference. */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length, 'length').toBe(expected.length);
  if (Buffer.compare(actual, expected) === 0) return;
  const at = actual.findIndex((x, i) => x !== expected[i]);
  expect.fail(`bytes differ first at ${at}: ${actual[at]} instead of ${expected[at]}`);
}

export function testPattern(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return bytes;
}

/** Waits for the completions of `transfers` on `channel`, reaping whatever else comes first. */
async function completionsOf(
  session: UnimemSession,
  channel: Handle<'Channel'>,
  transfers: number[],
): Promise<Completion[]> {
  const found = new Map<number, Completion>();
  for (let round = 0; round < 100 && found.size < transfers.length; round++) {
    const { completions } = await session.wait({ channel, timeoutMs: 100 });
    for (const c of completions) if (transfers.includes(c.transfer)) found.set(c.transfer, c);
  }
  if (found.size < transfers.length) throw new Error(`transfers ${transfers} did not all complete`);
  return transfers.map((t) => found.get(t)!);
}

async function completionOf(
  session: UnimemSession,
  channel: Handle<'Channel'>,
  transfer: number,
): Promise<Completion> {
  return (await completionsOf(session, channel, [transfer]))[0]!;
}

/**
 * The behaviour every Unimem engine owes its users, as a vitest suite. An engine package
 * calls this from one of its test files; so can a remoting layer, to prove it transparent.
 */
export function describeUnimemConformance(target: ConformanceTarget): void {
  describe(`Unimem conformance: ${target.name}`, () => {
    let engines: UnimemEngine[];
    let teardown: () => Promise<void>;
    const sessions: UnimemSession[] = [];

    const openOn = async (index: number): Promise<UnimemSession> => {
      const session = engines[index]!.openSession({
        label: `conformance-${index}-${sessions.length}`,
      });
      sessions.push(session);
      await session.open();
      return session;
    };

    /** A buffer on `owner` exported to anyone with the returned key. */
    const exported = async (
      owner: UnimemSession,
      size: number,
      access: 'read' | 'write' | 'read-write',
    ) => {
      const buffer = await owner.alloc({ size });
      const { key, address } = await owner.exportBuffer({ buffer: buffer.buffer, access });
      return { ...buffer, key, address };
    };

    const transfer = async (
      session: UnimemSession,
      kind: 'write' | 'read',
      local: Buffer['ref'],
      remote: GlobalAddress,
      key: number,
    ): Promise<Completion> => {
      const { channel } = await session.openChannel({ depth: 8 });
      const { transfer: id } = await session[kind]({ channel, local, remote, key });
      const completion = await completionOf(session, channel, id);
      await session.closeChannel({ channel });
      return completion;
    };

    beforeEach(async () => {
      const made = await target.setup();
      expect(made.engines.length).toBeGreaterThanOrEqual(2);
      engines = made.engines;
      teardown = made.teardown;
    });

    afterEach(async () => {
      for (const session of sessions.splice(0)) await session.dispose();
      await teardown();
    });

    it('opens once, reports its node, the cluster and limits, and refuses calls before open', async () => {
      const fresh = engines[0]!.openSession();
      sessions.push(fresh);
      await rejectsWith(fresh.query(), 'NOT_OPEN');
      await rejectsWith(fresh.alloc({ size: 64 }), 'NOT_OPEN');
      const info = await fresh.open();
      expect(info.node).toBe(engines[0]!.node);
      expect(info.nodes).toEqual(expect.arrayContaining(engines.map((e) => e.node)));
      expect(info.limits.maxTransfer).toBeGreaterThan(0);
      expect(await fresh.query()).toEqual(info);
      await rejectsWith(fresh.open(), 'ALREADY_OPEN');
    });

    it('allocates disjoint, aligned buffers on its own node, visible through view()', async () => {
      const session = await openOn(0);
      const a = await session.alloc({ size: 1000 });
      const b = await session.alloc({ size: 3000, align: 4096 });
      expect(nodeOf(a.address)).toBe(engines[0]!.node);
      expect(b.ref.offset % 4096).toBe(0);
      expect(b.address % 4096n).toBe(0n);
      const overlap =
        a.ref.region === b.ref.region &&
        a.ref.offset < b.ref.offset + 3000 &&
        b.ref.offset < a.ref.offset + 1000;
      expect(overlap).toBe(false);
      expect(session.view(a.ref).length).toBe(1000);
      await session.free({ buffer: a.buffer });
      await rejectsWith(session.free({ buffer: a.buffer }), 'BAD_HANDLE');
      await rejectsWith(session.alloc({ size: 64, align: 3 }), 'MISALIGNED');
    });

    for (const size of [1, 7, 4096, 65_537, (1 << 20) + 3]) {
      it(`writes and reads ${size} bytes across nodes, byte for byte`, async () => {
        const a = await openOn(0);
        const b = await openOn(1);
        const target = await exported(b, size + 8, 'read-write');
        const source = await a.alloc({ size });
        const sent = testPattern(size, size);
        a.view(source.ref).set(sent);

        const put = await transfer(
          a,
          'write',
          source.ref,
          offsetAddress(target.address, 1),
          target.key,
        );
        expect(put).toMatchObject({ status: 'ok', bytes: size });
        expectSameBytes(b.view(target.ref).subarray(1, 1 + size), sent);
        expect(b.view(target.ref)[0]).toBe(0);

        const sink = await a.alloc({ size });
        const got = await transfer(
          a,
          'read',
          sink.ref,
          offsetAddress(target.address, 1),
          target.key,
        );
        expect(got).toMatchObject({ status: 'ok', bytes: size });
        expectSameBytes(a.view(sink.ref), sent);
      });
    }

    it('moves bytes between sub-ranges of buffers (odd offsets and lengths)', async () => {
      const a = await openOn(0);
      const b = await openOn(1);
      const target = await exported(b, 4096, 'write');
      const source = await a.alloc({ size: 4096 });
      a.view(source.ref).set(testPattern(4096, 3));
      const local = { ...source.ref, offset: source.ref.offset + 13, length: 1001 };
      const done = await transfer(
        a,
        'write',
        local,
        offsetAddress(target.address, 2001),
        target.key,
      );
      expect(done.status).toBe('ok');
      expectSameBytes(
        b.view(target.ref).subarray(2001, 3002),
        testPattern(4096, 3).subarray(13, 1014),
      );
    });

    it('writes into the very memory a view was taken of (zero-copy)', async () => {
      const a = await openOn(0);
      const b = await openOn(1);
      const target = await exported(b, 256, 'write');
      const viewBefore = b.view(target.ref);
      const source = await a.alloc({ size: 256 });
      a.view(source.ref).fill(0xab);
      await transfer(a, 'write', source.ref, target.address, target.key);
      expect(viewBefore.every((x) => x === 0xab)).toBe(true);
    });

    it('completes a channel’s transfers in order and honours poll max and wait timeouts', async () => {
      const a = await openOn(0);
      const b = await openOn(1);
      const target = await exported(b, 64, 'write');
      const source = await a.alloc({ size: 64 });
      const { channel } = await a.openChannel({ depth: 8 });
      const ids: number[] = [];
      for (let i = 0; i < 5; i++)
        ids.push(
          (await a.write({ channel, local: source.ref, remote: target.address, key: target.key }))
            .transfer,
        );
      const seen: number[] = [];
      for (let round = 0; seen.length < 5 && round < 50; round++) {
        const { completions } = await a.wait({ channel, max: 2, timeoutMs: 100 });
        expect(completions.length).toBeLessThanOrEqual(2);
        seen.push(...completions.map((c) => c.transfer));
      }
      expect(seen).toEqual(ids);
      expect((await a.poll({ channel })).completions).toEqual([]);
      expect((await a.wait({ channel, timeoutMs: 20 })).completions).toEqual([]);
    });

    it('signals a full channel without losing or queueing the transfer', async () => {
      const a = await openOn(0);
      const b = await openOn(1);
      const target = await exported(b, 64, 'write');
      const source = await a.alloc({ size: 64 });
      const { channel } = await a.openChannel({ depth: 2 });
      const post = () =>
        a.write({ channel, local: source.ref, remote: target.address, key: target.key });
      const first = await post();
      const second = await post();
      await rejectsWith(post(), 'CHANNEL_FULL');
      const reaped: number[] = [];
      for (let round = 0; reaped.length < 2 && round < 50; round++) {
        reaped.push(
          ...(await a.wait({ channel, timeoutMs: 100 })).completions.map((c) => c.transfer),
        );
      }
      expect(reaped).toEqual([first.transfer, second.transfer]);
      const third = await post();
      expect((await completionOf(a, channel, third.transfer)).status).toBe('ok');
    });

    it('starts a fenced transfer only after every earlier one of its channel finished', async () => {
      const a = await openOn(0);
      const b = await openOn(1);
      const size = 1 << 20;
      const target = await exported(b, size, 'read-write');
      const out = await a.alloc({ size });
      const back = await a.alloc({ size });
      a.view(out.ref).set(testPattern(size, 5));
      const { channel } = await a.openChannel({ depth: 4 });
      const w = await a.write({ channel, local: out.ref, remote: target.address, key: target.key });
      const r = await a.read({
        channel,
        local: back.ref,
        remote: target.address,
        key: target.key,
        fence: true,
      });
      const [written, readBack] = await completionsOf(a, channel, [w.transfer, r.transfer]);
      expect([written!.status, readBack!.status]).toEqual(['ok', 'ok']);
      expectSameBytes(a.view(back.ref), testPattern(size, 5));
    });

    it('enforces key permissions and revocation', async () => {
      const a = await openOn(0);
      const b = await openOn(1);
      const readOnly = await exported(b, 128, 'read');
      const writeOnly = await exported(b, 128, 'write');
      const source = await a.alloc({ size: 128 });
      a.view(source.ref).fill(7);

      expect((await transfer(a, 'write', source.ref, readOnly.address, readOnly.key)).status).toBe(
        'no-permission',
      );
      expect(b.view(readOnly.ref).every((x) => x === 0)).toBe(true);
      expect((await transfer(a, 'read', source.ref, writeOnly.address, writeOnly.key)).status).toBe(
        'no-permission',
      );
      expect(
        (await transfer(a, 'write', source.ref, writeOnly.address, (writeOnly.key ^ 0x5a5a) >>> 0))
          .status,
      ).toBe('no-permission');
      expect(
        (await transfer(a, 'write', source.ref, writeOnly.address, writeOnly.key)).status,
      ).toBe('ok');

      await b.revoke({ key: writeOnly.key });
      b.view(writeOnly.ref).fill(0);
      expect(
        (await transfer(a, 'write', source.ref, writeOnly.address, writeOnly.key)).status,
      ).toBe('no-permission');
      expect(b.view(writeOnly.ref).every((x) => x === 0)).toBe(true);
      await rejectsWith(b.revoke({ key: writeOnly.key }), 'BAD_KEY');
    });

    it('refuses remote ranges outside the exported buffer, nodes outside the cluster, and local ranges outside the caller’s buffers', async () => {
      const a = await openOn(0);
      const b = await openOn(1);
      const target = await exported(b, 100, 'read-write');
      const source = await a.alloc({ size: 100 });
      const past = await transfer(
        a,
        'write',
        source.ref,
        offsetAddress(target.address, 1),
        target.key,
      );
      expect(past.status).toBe('no-permission');
      const { channel } = await a.openChannel();
      const outside = { ...source.ref, length: 101 };
      await transferRefused(
        a,
        channel,
        a.write({ channel, local: outside, remote: target.address, key: target.key }),
        'OUT_OF_RANGE',
      );
      const outsideCluster = makeGlobalAddress(0xfffe, 0);
      await transferRefused(
        a,
        channel,
        a.write({ channel, local: source.ref, remote: outsideCluster, key: target.key }),
        'OUT_OF_RANGE',
      );
      const foreign = { ...target.ref };
      await transferRefused(
        a,
        channel,
        a.read({ channel, local: foreign, remote: target.address, key: target.key }),
        'OUT_OF_RANGE',
      );
    });

    it('keeps sessions apart: another session’s handles and keys are refused', async () => {
      const a = await openOn(0);
      const other = await openOn(0);
      const mine = await a.alloc({ size: 64 });
      const { channel } = await a.openChannel();
      const { key } = await a.exportBuffer({ buffer: mine.buffer, access: 'read' });
      await rejectsWith(other.free({ buffer: mine.buffer }), 'BAD_HANDLE');
      await rejectsWith(
        other.exportBuffer({ buffer: mine.buffer, access: 'read-write' }),
        'BAD_HANDLE',
      );
      await rejectsWith(other.closeChannel({ channel }), 'BAD_HANDLE');
      await rejectsWith(other.poll({ channel }), 'BAD_HANDLE');
      await rejectsWith(other.revoke({ key }), 'BAD_KEY');
      expect(a.view(mine.ref).length).toBe(64);
    });

    it('transfers within one node through the caller’s own key', async () => {
      const a = await openOn(0);
      const target = await exported(a, 32, 'write');
      const source = await a.alloc({ size: 32 });
      a.view(source.ref).set(testPattern(32, 9));
      expect((await transfer(a, 'write', source.ref, target.address, target.key)).status).toBe(
        'ok',
      );
      expectSameBytes(a.view(target.ref), testPattern(32, 9));
    });

    it('revokes the keys of a freed buffer and releases everything on close', async () => {
      const a = await openOn(0);
      const b = await openOn(1);
      const target = await exported(b, 64, 'write');
      const source = await a.alloc({ size: 64 });
      await b.free({ buffer: target.buffer });
      expect((await transfer(a, 'write', source.ref, target.address, target.key)).status).toBe(
        'no-permission',
      );

      const again = await exported(b, 64, 'write');
      const { channel } = await b.openChannel();
      await b.close();
      expect((await transfer(a, 'write', source.ref, again.address, again.key)).status).toBe(
        'no-permission',
      );
      await b.open();
      await rejectsWith(b.poll({ channel }), 'BAD_HANDLE');
      await rejectsWith(b.free({ buffer: again.buffer }), 'BAD_HANDLE');
    });

    it('caps the number of channels', async () => {
      const a = await openOn(0);
      const { limits } = await a.query();
      if (limits.maxChannels > 256) return;
      for (let i = 0; i < limits.maxChannels; i++) await a.openChannel({ depth: 1 });
      await rejectsWith(a.openChannel({ depth: 1 }), 'LIMIT_REACHED');
    });
  });
}
