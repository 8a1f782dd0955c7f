/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../testing/run-cli.js';
import { renderReport } from './report-html.js';
import type { BenchResult } from './result.js';

const CHROMIUM = '/usr/bin/chromium';
const dir = mkdtempSync(join(tmpdir(), 'vrdma-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// CI installs Debian's chromium (.ci/run); elsewhere the test says plainly what it needs.
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium && process.env.CI)
  throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium`);

async function inspect(file: string) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
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
  try {
    const page = await browser.newPage();
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
          pathLengths: paths,
        };
      }),
    );
    const screenshot = await page.locator('#bandwidth-chart').screenshot();
    return { charts, requests, screenshot };
  } finally {
    await browser.close();
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
  })),
  kicks: { perDataOp: 0.1, perControlCall: 1 },
  guests: [1, 2, 4].map((n) => ({
    n,
    aggregateGBps: n,
    jain: 0.99,
    perGuestGBps: Array(n).fill(1),
  })),
};

describe.skipIf(!hasChromium)('the HTML report in headless Chromium', () => {
  it('renders both charts, self-contained, with a line and a dot per point', async () => {
    const file = join(dir, 'sample.html');
    writeFileSync(file, renderReport(sample));
    const { charts, requests, screenshot } = await inspect(file);
    expect(requests).toEqual([]);
    const [bandwidth, control] = charts;
    expect(bandwidth!.width).toBeGreaterThan(300);
    expect(bandwidth!.dots).toBe(8);
    expect(bandwidth!.pathLengths).toHaveLength(2);
    for (const length of bandwidth!.pathLengths) expect(length).toBeGreaterThan(100);
    expect(control!.bars).toBe(10);
    expect(screenshot.length).toBeGreaterThan(5_000);
  });

  it('is what `vrdma bench --quick --report` writes', async () => {
    const file = join(dir, 'bench.html');
    const run = await runCli(['bench', '--quick', '--report', file], 120_000);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`report written to ${file}`);
    const { charts } = await inspect(file);
    expect(charts[0]!.dots).toBe(8);
    expect(charts[1]!.bars).toBe(10);
  });
});
