import { describe, expect, it } from 'vitest';
import { createVirtioClientTransport } from './client-transport.js';
import { callInfo, createThreadRegion, echoHandler, echoRequest } from './echo-fixture.js';
import { createVirtioServerTransport } from './server-transport.js';
import { threadShmDoorbell } from './shm-doorbell.js';

describe("virtio over transport-shm's doorbells (one thread)", () => {
  it('round-trips single calls and bursts, counting only real rings', async () => {
    const region = createThreadRegion();
    const device = threadShmDoorbell(region, 'device');
    const driver = threadShmDoorbell(region, 'driver');
    const server = createVirtioServerTransport({ region, kicks: device, interrupts: device });
    server.serve(echoHandler);
    const client = createVirtioClientTransport({ region, kicks: driver, interrupts: driver });
    for (let id = 1; id <= 50; id++) {
      const reply = await client.call(echoRequest(id, Uint8Array.of(id)), callInfo(id));
      expect(new DataView(reply.buffer).getUint32(4, true)).toBe(id);
    }
    const ids = Array.from({ length: 64 }, (_, i) => 100 + i);
    const replies = await Promise.all(
      ids.map((id) => client.call(echoRequest(id, Uint8Array.of(1)), callInfo(id))),
    );
    expect(replies.map((r) => new DataView(r.buffer).getUint32(4, true))).toEqual(ids);
    expect(server.metrics.messages).toBe(114);
    expect(client.metrics.doorbells).toBeLessThanOrEqual(client.metrics.messages + 1);
    const gone = new Promise((resolve) => server.onDisconnect(resolve));
    await client.close();
    await gone;
    await server.close();
  });
});
