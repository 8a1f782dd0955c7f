import { runVerbsBench } from '../verbs/verbs-bench.js';
import { formatVerbsTable } from '../verbs/verbs-bench-table.js';
import type { BenchCommandOptions } from './bench.js';
import { type Output, progressBar } from './output.js';

/** `vrdma bench --api verbs`: the verbs table on stdout, or exactly one JSON object with --json. */
export async function runVerbsBenchCommand(
  options: BenchCommandOptions,
  out: Output,
): Promise<number> {
  if (options.report) out.note('--report draws the Unimem bench only; the verbs run has none');
  let bar: ReturnType<typeof progressBar> | undefined;
  const result = await runVerbsBench({
    quick: options.quick,
    guests: options.guests,
    progress: (label, total) => {
      bar ??= progressBar(total);
      bar.step(label);
    },
  });
  bar?.finish();
  out.line(options.json ? JSON.stringify(result) : formatVerbsTable(result));
  return 0;
}
