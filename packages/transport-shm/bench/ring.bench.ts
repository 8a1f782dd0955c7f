import { MessageChannel } from 'node:worker_threads';
import { createMemfdRegion, RegionRegistry } from '@vrdma/memory';
import * as Comlink from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { channelBytes, initChannel } from '../src/channel-layout.js';
import type { PollOptions } from '../src/poller.js';
import { DEFAULT_RING_SHAPE } from '../src/ring.js';
import { forkWithRegions } from '../src/test-fixtures/child-with-regions.js';
import { testHandler } from '../src/test-fixtures/host-handler.js';
import { hostEndpointOnSocket } from '../src/test-fixtures/socket-endpoints.js';
import { tsWorker } from '../src/test-fixtures/ts-worker.js';
import { attachThreadGuest } from '../src/thread-host.js';
import { type DoorbellLog, doorbellsPerCall } from './checkpoints.js';
import { type Figures, PLAN } from './measure.js';

/**
 * Round-trip latency and pipelined calls/s of one small call (a 20-byte request frame, a
 * 16-byte reply) over the shm ring, next to postMessage and Comlink (threads) and Node's IPC
 * channel (processes), measured in one run; and doorbells per call. The host side is this
 * process; the caller is a worker thread or a child process.
 */
const handler = testHandler(new RegionRegistry());
/** `VRDMA_SPIN_US=n` overrides the polling budget of both sides, to explore the trade-off. */
const poll: PollOptions =
  process.env.VRDMA_SPIN_US === undefined
    ? {}
    : { spinBudgetUs: Number(process.env.VRDMA_SPIN_US) };

async function threadRun() {
  const post = new MessageChannel();
  const comlink = new MessageChannel();
  post.port1.on('message', (request: Uint8Array) => post.port1.postMessage(handler(request)));
  Comlink.expose({ call: (request: Uint8Array) => handler(request) }, nodeEndpoint(comlink.port1));
  const worker = tsWorker(new URL('./thread-caller.ts', import.meta.url), {
    workerData: { postPort: post.port2, comlinkPort: comlink.port2, poll },
    transferList: [post.port2, comlink.port2],
  });
  const guest = attachThreadGuest(worker, { poll });
  guest.transport.serve(handler);
  worker.on('message', (m: { checkpoint?: string }) => {
    if (m.checkpoint) {
      worker.postMessage({
        checkpointAck: m.checkpoint,
        interrupts: guest.transport.metrics.doorbells,
      });
    }
  });
  const message = await new Promise<{ results: ThreadResults }>((resolve, reject) => {
    worker.on('message', (m: { results?: unknown }) => m.results && resolve(m as never));
    worker.once('error', reject);
  });
  const results = message.results;
  await guest.transport.close();
  post.port1.close();
  comlink.port1.close();
  await worker.terminate();
  return results;
}

async function processRun() {
  // The host creates the channel in a sealed memfd and passes it to the caller as a
  // descriptor over their socket pair, keeping none; doorbells are bytes on that socket.
  const shape = DEFAULT_RING_SHAPE;
  const channel = createMemfdRegion(0, channelBytes(shape), 'vrdma-bench-channel');
  initChannel(channel.bytes.buffer, shape);
  const { child, socket } = forkWithRegions(
    new URL('./process-caller.ts', import.meta.url),
    [JSON.stringify(poll)],
    [channel],
    { serialization: 'advanced' },
  );
  const transport = hostEndpointOnSocket(channel.bytes.buffer, shape, socket, poll);
  transport.serve(handler);
  child.on('message', (m: { request?: Uint8Array; checkpoint?: string }) => {
    if (m.request) child.send({ reply: handler(m.request) as Uint8Array });
    if (m.checkpoint)
      child.send({ checkpointAck: m.checkpoint, interrupts: transport.metrics.doorbells });
  });
  const message = await new Promise<{ results: ProcessResults }>((resolve, reject) => {
    child.on('message', (m: { results?: unknown }) => m.results && resolve(m as never));
    child.once('exit', (code) => reject(new Error(`caller exited with ${code}`)));
  });
  const results = message.results;
  await new Promise((resolve) =>
    child.exitCode === null ? child.once('exit', resolve) : resolve(0),
  );
  await transport.close();
  return results;
}

type ThreadResults = { ring: Figures; postMessage: Figures; comlink: Figures; log: DoorbellLog };
type ProcessResults = { ring: Figures; ipc: Figures; log: DoorbellLog };

const us = (n: number) => `${n.toFixed(1).padStart(6)} µs`;
const rate = (n: number) => `${Math.round(n).toLocaleString('en-US').padStart(9)} calls/s`;
function row(name: string, f: Figures) {
  console.log(
    `  ${name.padEnd(24)} rtt median ${us(f.rttMedianUs)}  p99 ${us(f.rttP99Us)}  pipelined (${PLAN.window} in flight) ${rate(f.pipelinedPerSec)}`,
  );
}
function ratio(name: string, base: Figures, ring: Figures) {
  console.log(
    `  ring vs ${name.padEnd(15)} rtt ${(base.rttMedianUs / ring.rttMedianUs).toFixed(1)}× lower, ` +
      `calls/s ${(ring.pipelinedPerSec / base.pipelinedPerSec).toFixed(1)}× higher`,
  );
}
function doorbells(log: DoorbellLog) {
  const d = doorbellsPerCall(log, PLAN);
  const f = (n: number) => n.toFixed(4);
  console.log(
    `  doorbells per call, steady state: one at a time ${f(d.rtt.kicks)} kicks + ${f(d.rtt.interrupts)} interrupts; ` +
      `pipelined ${f(d.pipelined.kicks)} kicks + ${f(d.pipelined.interrupts)} interrupts`,
  );
}

console.log(`transport-shm benchmark (node ${process.version}, ${new Date().toISOString()})`);
console.log('one call: 20-byte request frame, 16-byte reply; the host side is this process');
console.log(`polling: ${JSON.stringify(poll)} (empty: the defaults)`);
const thread = await threadRun();
console.log('\nguest in a worker thread:');
row('postMessage (baseline)', thread.postMessage);
row('Comlink (baseline)', thread.comlink);
row('shm ring', thread.ring);
ratio('postMessage:', thread.postMessage, thread.ring);
ratio('Comlink:', thread.comlink, thread.ring);
doorbells(thread.log);

const proc = await processRun();
console.log('\nguest in a child process:');
row('Node IPC (baseline)', proc.ipc);
row('shm ring', proc.ring);
ratio('Node IPC:', proc.ipc, proc.ring);
doorbells(proc.log);
