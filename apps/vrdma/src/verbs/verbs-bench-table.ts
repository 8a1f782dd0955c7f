import { formatBytes } from '../bench/result.js';
import type { VerbsBenchResult } from './verbs-bench.js';

/** Three significant digits: small writes run at a few MB/s, which three decimals would hide. */
function gbps(value: number): string {
  return value.toPrecision(3);
}

/** The paper's table for verbs, as text. */
export function formatVerbsTable(result: VerbsBenchResult): string {
  const m = result.machine;
  const lines = [
    `vrdma bench --api verbs: ${m.engine}; ${m.transports}; guests as ${m.guests}; ${m.cpus} CPUs, Node ${m.node}`,
    '',
    'RDMA WRITE size     native GB/s   remoted GB/s   remoted/native',
  ];
  for (const p of result.bandwidth)
    lines.push(
      `${formatBytes(p.size).padStart(15)}   ${gbps(p.nativeGBps).padStart(11)}   ${gbps(p.remotedGBps).padStart(12)}   ${p.ratio.toFixed(2).padStart(14)}`,
    );
  lines.push('');
  lines.push(
    `${'control call'.padEnd(12)}   ${'native µs'.padStart(9)}   ${'remoted µs'.padStart(10)}   ${'remoted/native'.padStart(14)}`,
  );
  for (const c of result.control)
    lines.push(
      `${c.fn.padStart(12)}   ${c.nativeUs.toFixed(1).padStart(9)}   ${c.remotedUs.toFixed(1).padStart(10)}   ${c.ratio.toFixed(1).padStart(14)}`,
    );
  lines.push('');
  lines.push(
    `kicks per data-plane op: ${result.kicks.perDataOp.toFixed(3)}   kicks per control call: ${result.kicks.perControlCall.toFixed(3)}`,
  );
  return lines.join('\n');
}
