import { MessageChannel, Worker } from 'node:worker_threads';
// Comlink ships no "exports" map; its ES module build is imported by path.
import * as Comlink from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { entryPoint } from '../compose/entry-point.js';
import { mean, median } from '../workloads/call-costs.js';

/** Microseconds of one round trip between two threads, the way threads usually talk. */
export interface Baselines {
  /** Means. */
  comlinkUs: number;
  postMessageUs: number;
  /** Medians (the typical round trip). */
  comlinkMedianUs: number;
  postMessageMedianUs: number;
}

/** About what a control call carries each way: a function name and a few small fields. */
const MESSAGE = { fn: 'alloc', args: { size: 4096 } };

/**
 * Times a round trip to a worker thread that echoes `MESSAGE`, one at a time, with postMessage
 * and with Comlink: what a remoted control call is worth comparing with, since it too is one
 * request and one reply between two threads (or processes).
 */
export async function measureBaselines(rounds: number): Promise<Baselines> {
  const post = new MessageChannel();
  const comlink = new MessageChannel();
  const { worker: entry } = entryPoint('echo-thread', import.meta.url);
  const worker = new Worker(entry.path, {
    execArgv: entry.execArgv,
    workerData: { ...entry.data, postPort: post.port2, comlinkPort: comlink.port2 },
    transferList: [post.port2, comlink.port2],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the echo thread exited with ${code}`)));
    });
    let answer: (reply: unknown) => void = () => {};
    post.port1.on('message', (reply: unknown) => answer(reply));
    const viaPostMessage = () =>
      new Promise<unknown>((resolve) => {
        answer = resolve;
        post.port1.postMessage(MESSAGE);
      });
    const remote = Comlink.wrap<{ echo(message: unknown): unknown }>(nodeEndpoint(comlink.port1));
    const viaPost = await roundTripUs(viaPostMessage, rounds);
    const viaComlink = await roundTripUs(() => remote.echo(MESSAGE), rounds);
    return {
      postMessageUs: viaPost.mean,
      comlinkUs: viaComlink.mean,
      postMessageMedianUs: viaPost.median,
      comlinkMedianUs: viaComlink.median,
    };
  } finally {
    post.port1.close();
    comlink.port1.close();
    await worker.terminate();
  }
}

/** Mean and median µs of `call` over `rounds`, after as many (at most 1000) to warm up the JIT. */
async function roundTripUs(
  call: () => Promise<unknown>,
  rounds: number,
): Promise<{ mean: number; median: number }> {
  for (let i = 0; i < Math.min(rounds, 1000); i++) await call();
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const started = process.hrtime.bigint();
    await call();
    samples.push(Number(process.hrtime.bigint() - started) / 1e3);
  }
  return { mean: mean(samples), median: median(samples) };
}
