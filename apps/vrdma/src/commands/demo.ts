import { formatBytes } from '../bench/result.js';
import { Deployment, type GuestKind } from '../compose/deployment.js';
import { writeBandwidth } from '../workloads/workloads.js';
import type { Output } from './output.js';

/** The write size of the native-versus-remoted comparison. */
const COMPARISON_SIZE = 1 << 20;

export interface DemoOptions {
  guests: GuestKind;
  count: number;
  nodes: number;
  size: number;
}

/**
 * The first thing a user runs: a host on an emulated 2-node Unimem cluster, three guests that
 * allocate buffers, write to and read from another node and verify every byte, then a short
 * native-versus-remoted comparison. Returns the exit code: 0 when every byte checked out.
 */
export async function runDemo(options: DemoOptions, out: Output): Promise<number> {
  const started = Date.now();
  const deployment = Deployment.create({
    nodes: options.nodes,
    engine: { sessionMemory: Math.max(32 << 20, options.size * (options.count + 4)) },
  });
  try {
    out.line(
      `vrdma demo: host on node 0 of ${options.nodes}, ${options.count} guests as ${options.guests === 'thread' ? 'worker threads' : 'OS processes'}`,
    );
    const guests = await Promise.all(
      Array.from({ length: options.count }, (_, i) =>
        // Room for the verified transfer and for the 1 MiB comparison below, whatever --size is.
        deployment.startGuest(
          options.guests,
          `guest-${i + 1}`,
          Math.max(options.size, COMPARISON_SIZE) * 4,
        ),
      ),
    );
    let failures = 0;
    const last = deployment.nodes[deployment.nodes.length - 1];
    await Promise.all(
      guests.map(async (guest, i) => {
        const target = await deployment.exportTarget(options.size);
        const answer = await guest.run({ kind: 'verify', target, size: options.size, seed: i + 1 });
        if (answer.kind !== 'verify') throw new Error('unexpected answer');
        const { result } = answer;
        const ok = result.written && result.readBack;
        if (!ok) failures++;
        out.line(
          `  ${guest.label}: node ${result.node} → node ${last}: wrote ${formatBytes(result.bytes)} ${result.written ? 'ok' : 'FAILED'}, read back ${result.readBack ? 'identical' : 'DIFFERENT'}`,
        );
      }),
    );

    const size = COMPARISON_SIZE;
    const target = await deployment.exportTarget(size);
    const native = await deployment.nativeSession();
    const budget = { minBytes: 64 << 20, minOps: 64 };
    const nativePoint = await writeBandwidth(native, target, size, budget);
    const remoted = await guests[0]!.run({ kind: 'bandwidth', target, sizes: [size], budget });
    const remotedPoint = remoted.kind === 'bandwidth' ? remoted.points[0]! : undefined;
    out.line(`native versus remoted, 1 MiB writes:`);
    out.line(`  native  ${nativePoint.gbps.toFixed(2)} GB/s`);
    if (remotedPoint) {
      out.line(
        `  remoted ${remotedPoint.gbps.toFixed(2)} GB/s (${((remotedPoint.gbps / nativePoint.gbps) * 100).toFixed(0)}% of native)`,
      );
    }

    out.line('host metrics:');
    for (const g of deployment.host.guests()) {
      const calls = Object.values(g.metrics.calls).reduce((a, b) => a + b, 0);
      out.line(
        `  ${g.label}: ${calls} calls, ${formatBytes(g.metrics.scheduled.bytes)} posted, ${g.metrics.transports.control.doorbells + g.metrics.transports.data.doorbells} interrupts, ${Object.keys(g.metrics.errors).length} error kinds`,
      );
    }
    const verdict =
      failures === 0 ? 'all transfers verified' : `${failures} guest(s) saw wrong data`;
    out.line(`done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${verdict}`);
    return failures === 0 ? 0 : 1;
  } finally {
    await deployment.close();
  }
}
