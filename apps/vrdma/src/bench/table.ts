import { type BenchResult, formatBytes, opsPerSec } from './result.js';

/** The paper's table, as text. */
export function formatTable(result: BenchResult): string {
  const lines: string[] = [];
  const m = result.machine;
  lines.push(
    `vrdma bench: ${m.engine}; ${m.transports}; guests as ${m.guests}; ${m.cpus} CPUs, Node ${m.node}`,
  );
  lines.push('');
  lines.push('write bandwidth        native GB/s   remoted GB/s   remoted/native');
  for (const p of result.bandwidth) {
    lines.push(
      `${formatBytes(p.size).padStart(10)}        ${p.nativeGBps.toFixed(3).padStart(11)}   ${p.remotedGBps.toFixed(3).padStart(12)}   ${p.ratio.toFixed(2).padStart(14)}`,
    );
  }
  const w = result.smallWrites;
  const writes = `${formatBytes(w.size)} writes, ${w.inFlight} in flight`;
  lines.push('');
  lines.push(`${writes}   native ops/s   remoted ops/s   remoted/native`);
  lines.push(
    `${''.padStart(writes.length)}   ${opsPerSec(w.nativeOpsPerSec).padStart(12)}   ${opsPerSec(w.remotedOpsPerSec).padStart(13)}   ${w.ratio.toFixed(3).padStart(14)}`,
  );
  lines.push('');
  lines.push(
    `${'control call'.padEnd(12)}   ${'native µs'.padStart(9)}   ${'remoted µs'.padStart(10)}   ${'remoted/native'.padStart(14)}   ${'remoted/Comlink'.padStart(15)}   ${'median µs'.padStart(9)}   ${'median/Comlink'.padStart(14)}`,
  );
  for (const c of result.control) {
    lines.push(
      `${c.fn.padStart(12)}   ${c.nativeUs.toFixed(1).padStart(9)}   ${c.remotedUs.toFixed(1).padStart(10)}   ${c.ratio.toFixed(1).padStart(14)}   ${c.vsComlink.toFixed(2).padStart(15)}   ${c.remotedMedianUs.toFixed(1).padStart(9)}   ${c.medianVsComlink.toFixed(2).padStart(14)}`,
    );
  }
  const b = result.baselines;
  lines.push(
    `round trip between two threads: Comlink ${b.comlinkUs.toFixed(1)} µs (median ${b.comlinkMedianUs.toFixed(1)}), postMessage ${b.postMessageUs.toFixed(1)} µs (median ${b.postMessageMedianUs.toFixed(1)})`,
  );
  lines.push('(means, then medians: a mean carries the calls whose thread the OS preempted)');
  lines.push('');
  lines.push(
    `kicks per data-plane op: ${result.kicks.perDataOp.toFixed(3)}   kicks per control call: ${result.kicks.perControlCall.toFixed(3)}`,
  );
  lines.push('');
  lines.push("guests   aggregate GB/s   Jain's index");
  for (const g of result.guests) {
    lines.push(
      `${String(g.n).padStart(6)}   ${g.aggregateGBps.toFixed(3).padStart(14)}   ${g.jain.toFixed(3).padStart(12)}`,
    );
  }
  return lines.join('\n');
}
