import { writeFile } from 'node:fs/promises';
import { runBench } from '../bench/experiment.js';
import { renderReport } from '../bench/report-html.js';
import { formatTable } from '../bench/table.js';
import type { GuestKind } from '../compose/deployment.js';
import { type Output, progressBar } from './output.js';

export interface BenchCommandOptions {
  quick: boolean;
  json: boolean;
  report?: string;
  guests: GuestKind;
  engine?: 'unimem' | 'libfabric';
  provider?: string;
}

/** `vrdma bench`: the table on stdout, or exactly one JSON object with --json; optional HTML report. */
export async function runBenchCommand(options: BenchCommandOptions, out: Output): Promise<number> {
  let bar: ReturnType<typeof progressBar> | undefined;
  const result = await runBench({
    quick: options.quick,
    guests: options.guests,
    engine: options.engine,
    provider: options.provider,
    progress: (label, total) => {
      bar ??= progressBar(total);
      bar.step(label);
    },
  });
  bar?.finish();
  if (options.report) {
    await writeFile(options.report, renderReport(result));
    out.note(`report written to ${options.report}`);
  }
  out.line(options.json ? JSON.stringify(result) : formatTable(result));
  return 0;
}
