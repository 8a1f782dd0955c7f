/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import serverlessChromium from '@sparticuz/chromium';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_TEST_TIMEOUT_MS, runCli } from '../testing/run-cli.js';
import { renderReport } from './report-html.js';
import type { BenchResult } from './result.js';

// The browser is the headless Chromium that @sparticuz/chromium ships, brotli-compressed, inside
// its npm package: `npm ci` installs it and nothing is downloaded. Its executablePath() inflates
// it into os.tmpdir() and hands back whatever `chromium` it already finds there, even one that
// another run is still writing. So each run points TMPDIR at a folder of its own while the binary
// is inflated and the browser launched (Playwright's profile and Chromium's own temporary files
// land there too), and removes that folder at the end: nothing is shared, nothing is left behind.
let dir: string;
let started: Promise<Browser> | undefined;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vrdma-report-'));
});

afterAll(async () => {
  try {
    await (await started?.catch(() => undefined))?.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The one browser of this file, started on first use; a browser that cannot start fails the test. */
function browser(): Promise<Browser> {
  started ??= launch();
  return started;
}

async function launch(): Promise<Browser> {
  const tmp = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  try {
    return await chromium.launch({
      executablePath: await serverlessChromium.executablePath(),
      // Playwright's own headless flags suit this headless-shell build; the package's `args` are
      // for puppeteer on AWS Lambda (single process, web security off) and are not used. These
      // keep Chromium from reaching for the network on its own.
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  } catch (error) {
    const reason = String(error instanceof Error ? error.message : error).split('\n')[0];
    throw new Error(`headless Chromium from @sparticuz/chromium could not start: ${reason}`, {
      cause: error,
    });
  } finally {
    if (tmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmp;
  }
}

async function inspect(file: string) {
  const context = await (await browser()).newContext();
  try {
    const page = await context.newPage();
    const requests: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith('file:')) requests.push(request.url());
    });
    await page.goto(pathToFileURL(file).href);
    const charts = await page.evaluate(() =>
      ['#bandwidth-chart', '#control-chart'].map((selector) => {
        const svg = document.querySelector(selector) as SVGSVGElement | null;
        const box = svg?.getBoundingClientRect();
        const paths = [...(svg?.querySelectorAll('path') ?? [])].map((p) =>
          (p as SVGPathElement).getTotalLength(),
        );
        return {
          width: box?.width ?? 0,
          height: box?.height ?? 0,
          dots: svg?.querySelectorAll('circle').length ?? 0,
          bars: [...(svg?.querySelectorAll('rect') ?? [])].filter(
            (r) => r.getBoundingClientRect().width > 0,
          ).length,
          baselineBars: [...(svg?.querySelectorAll('rect.baseline') ?? [])].filter(
            (r) => r.getBoundingClientRect().width > 0,
          ).length,
          pathLengths: paths,
        };
      }),
    );
    const screenshot = await page.locator('#bandwidth-chart').screenshot();
    // The tables' cells as a reader sees them (rendered text); a hidden table has none.
    const tables: Record<string, string[][]> = {};
    for (const id of ['small-writes', 'control-table', 'baselines']) {
      const table = page.locator(`#${id}`);
      const rows = (await table.isVisible()) ? await table.locator('tbody tr').all() : [];
      tables[id] = await Promise.all(rows.map((row) => row.locator('td').allInnerTexts()));
    }
    const chartText = await page.locator('#control-chart').innerHTML();
    return { charts, requests, screenshot, tables, chartText };
  } finally {
    await context.close();
  }
}

const sample: BenchResult = {
  machine: {
    cpus: 2,
    node: '20',
    engine: 'engine-unimem',
    transports: 'virtio + shm',
    guests: 'worker threads',
  },
  bandwidth: [64, 4096, 65536, 1 << 20].map((size, i) => ({
    size,
    nativeGBps: 0.1 * 10 ** i,
    remotedGBps: 0.05 * 10 ** i,
    ratio: 0.5,
  })),
  control: ['open', 'alloc', 'free', 'exportBuffer', 'openChannel'].map((fn) => ({
    fn,
    nativeUs: 2,
    remotedUs: 80,
    ratio: 40,
    vsComlink: 1.6,
    nativeMedianUs: 2,
    remotedMedianUs: 20,
    medianVsComlink: 0.5,
  })),
  baselines: { comlinkUs: 50, postMessageUs: 30, comlinkMedianUs: 40, postMessageMedianUs: 25 },
  smallWrites: {
    size: 64,
    inFlight: 32,
    nativeOpsPerSec: 1_234_567,
    remotedOpsPerSec: 123_456,
    ratio: 0.1,
  },
  kicks: { perDataOp: 0.1, perControlCall: 1 },
  guests: [1, 2, 4].map((n) => ({
    n,
    aggregateGBps: n,
    jain: 0.99,
    perGuestGBps: Array(n).fill(1),
  })),
};

// Each command runs as a child process that runCli kills at its own deadline (up to 120 s);
// the test's bound sits above it, so a slow machine fails with the command's output, not a
// vitest timeout.
describe('the HTML report in headless Chromium', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('renders both charts, self-contained, with a line and a dot per point', async () => {
    const file = join(dir, 'sample.html');
    writeFileSync(file, renderReport(sample));
    const { charts, requests, screenshot, chartText } = await inspect(file);
    expect(requests).toEqual([]);
    const [bandwidth, control] = charts;
    expect(bandwidth!.width).toBeGreaterThan(300);
    expect(bandwidth!.dots).toBe(8);
    expect(bandwidth!.pathLengths).toHaveLength(2);
    for (const length of bandwidth!.pathLengths) expect(length).toBeGreaterThan(100);
    // A native and a remoted bar per call, then one bar per round trip between two threads.
    expect(control!.bars).toBe(12);
    expect(control!.baselineBars).toBe(2);
    expect(chartText).toContain('Comlink RTT');
    expect(chartText).toContain('postMessage RTT');
    expect(screenshot.length).toBeGreaterThan(5_000);
  });

  it('shows the small writes, each call against a Comlink round trip, and both round trips', async () => {
    const file = join(dir, 'sample-tables.html');
    writeFileSync(file, renderReport(sample));
    const { tables } = await inspect(file);
    expect(tables['small-writes']).toEqual([['64 B', '32', '1,234,567', '123,456', '0.100']]);
    expect(tables['control-table']).toHaveLength(5);
    for (const row of tables['control-table']!)
      expect(row.slice(1)).toEqual(['2.0', '80.0', '40.0', '1.60', '20.0', '0.50']);
    expect(tables.baselines).toEqual([
      ['Comlink', '50.0', '40.0'],
      ['postMessage', '30.0', '25.0'],
    ]);
  });

  it('is what `vrdma bench --quick --report` writes', async () => {
    await browser(); // a browser that cannot start fails here, before the benchmark runs
    const file = join(dir, 'bench.html');
    const run = await runCli(['bench', '--quick', '--report', file], 120_000);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`report written to ${file}`);
    const { charts, tables } = await inspect(file);
    expect(charts[0]!.dots).toBe(8);
    expect(charts[1]!.bars).toBe(12);
    expect(charts[1]!.baselineBars).toBe(2);
    const figure = (cell: string | undefined) => Number(cell?.replaceAll(',', ''));
    const [writes] = tables['small-writes']!;
    expect(writes!.slice(0, 2)).toEqual(['64 B', '32']);
    for (const cell of writes!.slice(2)) expect(figure(cell)).toBeGreaterThan(0);
    expect(tables['control-table']).toHaveLength(5);
    for (const row of tables['control-table']!) {
      expect(figure(row[4])).toBeGreaterThan(0);
      expect(figure(row[6])).toBeGreaterThan(0);
    }
    expect(tables.baselines!.map((row) => row[0])).toEqual(['Comlink', 'postMessage']);
    for (const row of tables.baselines!) {
      expect(figure(row[1])).toBeGreaterThan(0);
      expect(figure(row[2])).toBeGreaterThan(0);
    }
  });
});
