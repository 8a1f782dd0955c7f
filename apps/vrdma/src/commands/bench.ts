import { writeFile } from 'node:fs/promises';
import { runBench } from '../bench/experiment.js';
import { renderReport } from '../bench/report-html.js';
import { formatTable } from '../bench/table.js';
import type { GuestKind } from '../compose/deployment.js';
import { type Output, progressBar } from './output.js';
import { runVerbsBenchCommand } from './verbs-bench-command.js';

export interface BenchCommandOptions {
  quick: boolean;
  json: boolean;
  report?: string;
  guests: GuestKind;
  /** The API measured (default unimem). */
  api?: 'unimem' | 'verbs';
  engine?: 'unimem' | 'libfabric';
  provider?: string;
}

/** `vrdma bench`: the table on stdout, or exactly one JSON object with --json; optional HTML report. */
export async function runBenchCommand(options: BenchCommandOptions, out: Output): Promise<number> {
  if (options.api === 'verbs' && options.guests === 'vm')
    throw new Error(
      '--guests vm measures the Unimem API; bench --api verbs runs threads or processes',
    );
  if (options.engine === 'libfabric' && (options.api === 'verbs' || options.guests === 'vm'))
    throw new Error(
      '--engine libfabric measures the Unimem API with thread or process guests; drop --api verbs and --guests vm',
    );
  if (options.api === 'verbs') return runVerbsBenchCommand(options, out);
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
