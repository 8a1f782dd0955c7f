import { VrdmaError } from '@vrdma/api-spec';
import { offsetAddress } from '@vrdma/unimem-api';
import { expectSameBytes, testPattern } from '@vrdma/unimem-api/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createLocalCluster, type LocalCluster } from './local-cluster.js';
import { reap } from './test-helpers.js';

describe('postNow: a posted write or read taken at once, for a host', () => {
  let cluster: LocalCluster | undefined;
  afterEach(async () => {
    await cluster?.shutdown();
    cluster = undefined;
  });

  async function pair() {
    cluster = createLocalCluster({ nodes: [0, 1] });
    const a = cluster.node(0).openSession();
    const b = cluster.node(1).openSession();
    await a.open();
    await b.open();
    const source = await a.alloc({ size: 4096 });
    const sink = await a.alloc({ size: 4096 });
    const target = await b.alloc({ size: 4096 });
    const { key, address } = await b.exportBuffer({ buffer: target.buffer, access: 'read-write' });
    const { channel } = await a.openChannel({ depth: 4 });
    return { a, b, source, sink, target, key, address, channel };
  }

  it('gives back the transfer itself, not a promise, and the transfer completes as a write’s does', async () => {
    const { a, b, source, sink, target, key, address, channel } = await pair();
    const sent = testPattern(4096, 17);
    a.view(source.ref).set(sent);
    const put = a.postNow('write', { channel, local: source.ref, remote: address, key });
    expect(put).not.toBeInstanceOf(Promise);
    expect(typeof put.transfer).toBe('number');
    expect(await reap(a, channel, 1)).toEqual([
      { transfer: put.transfer, status: 'ok', bytes: 4096 },
    ]);
    expectSameBytes(b.view(target.ref), sent);

    const get = a.postNow('read', {
      channel,
      local: sink.ref,
      remote: offsetAddress(address, 0),
      key,
    });
    expect(await reap(a, channel, 1)).toEqual([
      { transfer: get.transfer, status: 'ok', bytes: 4096 },
    ]);
    expectSameBytes(a.view(sink.ref), sent);
  });

  it('throws the typed errors a write would reject with, and refuses calls that are not posts', async () => {
    const { a, source, key, address, channel } = await pair();
    const thrown = (body: () => unknown) => {
      try {
        body();
        return 'nothing';
      } catch (error) {
        return error instanceof VrdmaError ? error.code : String(error);
      }
    };
    const rejected = (pending: Promise<unknown>) =>
      pending.then(
        () => 'nothing',
        (error: unknown) => (error instanceof VrdmaError ? error.code : String(error)),
      );
    const bad = [
      { channel, local: source.ref, remote: address },
      { channel: 999, local: source.ref, remote: address, key },
      { channel, local: { ...source.ref, length: 1 << 30 }, remote: address, key },
      { channel, local: { ...source.ref, region: source.ref.region + 1 }, remote: address, key },
    ];
    const codes = [];
    for (const args of bad) {
      const code = thrown(() => a.postNow('write', args));
      expect(code).toBe(await rejected(a.write(args as never)));
      codes.push(code);
    }
    expect(codes).not.toContain('nothing');
    expect(codes.slice(0, 2)).toEqual(['INVALID_ARGUMENT', 'BAD_HANDLE']);
    expect(thrown(() => a.postNow('alloc', { size: 64 }))).toBe('INTERNAL');
  });
});
