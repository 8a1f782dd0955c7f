import { VrdmaError } from '@vrdma/api-spec';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createVirtioClientTransport } from './client-transport.js';
import { CONFIG, CONFIG_BLOCK_BYTES } from './config-block.js';
import {
  callInfo,
  createThreadRegion,
  echoHandler,
  echoRequest,
  threadDoorbells,
} from './echo-fixture.js';
import { faultOf } from './queue-fault.js';
import { createVirtioServerTransport } from './server-transport.js';

/**
 * A live host with two guests: one scribbles random bytes over its own rings and config and
 * kicks; the other keeps calling. The host must never throw, must fault only the scribbler
 * (or keep serving it if the bytes happen to be harmless), and must keep serving the other.
 */
describe('a host under a scribbling guest', () => {
  it('faults at most that guest, with a typed error, and serves the other', async () => {
    const honestRegion = createThreadRegion();
    const honestBells = threadDoorbells(honestRegion);
    const honestServer = createVirtioServerTransport({
      region: honestRegion,
      kicks: honestBells.kick,
      interrupts: honestBells.interrupt,
    });
    honestServer.serve(echoHandler);
    const honest = createVirtioClientTransport({
      region: honestRegion,
      kicks: honestBells.kick,
      interrupts: honestBells.interrupt,
    });
    let callId = 1;

    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            at: fc.integer({ min: 0, max: CONFIG_BLOCK_BYTES + 2048 }),
            bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        async (scribbles) => {
          const region = createThreadRegion(1 << 19);
          const bells = threadDoorbells(region);
          const server = createVirtioServerTransport({
            region,
            kicks: bells.kick,
            interrupts: bells.interrupt,
          });
          server.serve(echoHandler);
          const faults: unknown[] = [];
          server.onDisconnect((reason) => faults.push(reason));
          const guest = createVirtioClientTransport({
            region,
            kicks: bells.kick,
            interrupts: bells.interrupt,
            queueSize: 8,
          });
          await guest.call(echoRequest(1, Uint8Array.of(1)), callInfo(1));
          for (const { at, bytes } of scribbles) {
            // The doorbell words are the transport's, not ring memory: leave them alone.
            if (at < CONFIG.kickWord + 8 && at + bytes.length > CONFIG.kickWord) continue;
            region.bytes.set(bytes, at);
          }
          bells.kick.notify();
          for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 0)); // let it be served
          const id = ++callId;
          const reply = await honest.call(echoRequest(id, Uint8Array.of(3)), callInfo(id));
          expect(new DataView(reply.buffer).getUint32(4, true)).toBe(id);
          for (const reason of faults) {
            expect(reason).toBeInstanceOf(VrdmaError);
            const { code } = reason as VrdmaError;
            // A broken ring (TRANSPORT, with its fault) or a status the guest reset.
            expect(code === 'DISCONNECTED' || faultOf(reason) !== undefined).toBe(true);
          }
          if (server.fault) expect(faults).toHaveLength(1);
          await guest.close();
          await server.close();
        },
      ),
      { numRuns: 150 },
    );
    await honest.close();
    await honestServer.close();
  });
});
