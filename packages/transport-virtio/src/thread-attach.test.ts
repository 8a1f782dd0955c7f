import { Worker } from 'node:worker_threads';
import { createDispatcher, type VrdmaError } from '@vrdma/api-spec';
import { createMockCluster } from '@vrdma/engine-mock';
import { unimemSpec } from '@vrdma/unimem-api';
import { describe, expect, it } from 'vitest';
import { attachVirtioThreadGuest } from './thread-attach.js';

function tsWorker(entry: URL): Worker {
  return new Worker(new URL('./ts-worker-bootstrap.mjs', import.meta.url), {
    execArgv: ['--conditions=@vrdma/source'],
    workerData: { entry: entry.href },
  });
}

describe('attachVirtioThreadGuest / connectToVirtioThreadHost', () => {
  it('runs the Unimem API from a guest thread over the virtqueue, typed errors included', async () => {
    const session = createMockCluster({ nodes: [4, 5] }).engines[0]!.openSession();
    const worker = tsWorker(new URL('./unimem-guest.fixture.ts', import.meta.url));
    const server = attachVirtioThreadGuest(worker);
    server.serve(createDispatcher(unimemSpec, session).handle);
    const gone = new Promise<VrdmaError>((resolve) => server.onDisconnect(resolve));
    try {
      const report = await new Promise<{
        node: number;
        sameInfo: boolean;
        error: string;
        metrics: { messages: number; doorbells: number };
      }>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      expect(report.node).toBe(4);
      expect(report.sameInfo).toBe(true);
      expect(report.error).toBe('BAD_HANDLE');
      expect(report.metrics.messages).toBe(5);
      expect(server.metrics.messages).toBe(5);
      expect((await gone).code).toBe('DISCONNECTED');
    } finally {
      await worker.terminate();
      await server.close();
    }
  });

  it("treats the worker's exit as the guest's disconnect", async () => {
    const worker = new Worker('setTimeout(() => process.exit(3), 20)', { eval: true });
    const server = attachVirtioThreadGuest(worker);
    server.serve(() => new Uint8Array(0));
    const reason = await new Promise<VrdmaError>((resolve) => server.onDisconnect(resolve));
    expect(reason.code).toBe('DISCONNECTED');
    expect(reason.message).toMatch(/exited with code 3/);
    await server.close();
  });
});
