import { parentPort, workerData } from 'node:worker_threads';
import { type ClientTransport, createStub, type Region } from '@vrdma/api-spec';
import { unimemSpec } from '@vrdma/unimem-api';
import { createVirtioClientTransport } from '../src/client-transport.js';
import { VirtqueueDriver } from '../src/driver.js';
import { threadDoorbells } from '../src/echo-fixture.js';
import { stageClock } from './call-stages.js';

/** The guest side of the call-stages bench: `query` calls one at a time, each stage marked. */
const { buffer, stages, calls, pollBudgetUs } = workerData as {
  buffer: SharedArrayBuffer;
  stages: SharedArrayBuffer;
  calls: number;
  pollBudgetUs?: number;
};
const clock = stageClock(stages);
let published = 0;
let reaped = 0;
const publish = VirtqueueDriver.prototype.publish;
VirtqueueDriver.prototype.publish = function (this: VirtqueueDriver) {
  const kick = publish.call(this);
  clock.mark(published++, 'published');
  return kick;
};
const reap = VirtqueueDriver.prototype.reap;
VirtqueueDriver.prototype.reap = function (this: VirtqueueDriver) {
  const used = reap.call(this);
  for (const _ of used) clock.mark(reaped++, 'reaped');
  return used;
};

const region: Region = { id: 7, size: buffer.byteLength, bytes: new Uint8Array(buffer) };
const bells = threadDoorbells(region);
const client = createVirtioClientTransport({
  region,
  kicks: bells.kick,
  interrupts: bells.interrupt,
  ...(pollBudgetUs === undefined ? {} : { pollBudgetUs }),
});
let handed = 0;
const marked: ClientTransport = {
  metrics: client.metrics,
  onDisconnect: (listener) => client.onDisconnect(listener),
  close: () => client.close(),
  call(frame, info) {
    clock.mark(handed++, 'call');
    return client.call(frame, info);
  },
};
const api = createStub(unimemSpec, marked);
for (let n = 0; n < calls; n++) {
  clock.mark(n, 'start');
  await api.query();
  clock.mark(n, 'resumed');
}
parentPort!.postMessage({ kicks: client.metrics.doorbells, poll: { ...client.poll } });
await client.close();
