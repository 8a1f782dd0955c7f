/**
 * `npm run soak -- --minutes M --guests G [--seed S]`: G guests doing random valid work for M
 * minutes (fractions allowed) with random crashes and restarts, against a real host (see
 * soak-run.ts). Progress goes to stderr; stdout gets exactly one line:
 *   soak: ops=… lost=0 corrupted=0 leaked=0 rss_growth=…% fds_growth=…
 * Exits 1 if anything was lost, corrupted or leaked.
 */
import { parseArgs } from 'node:util';
import { runSoak } from './soak-run.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '1' },
    guests: { type: 'string', default: '4' },
    seed: { type: 'string' },
  },
});
const seed = values.seed === undefined ? Date.now() % 0x7fff_ffff : Number(values.seed);
const minutes = Number(values.minutes);
const guests = Number(values.guests);
if (!(minutes > 0) || !Number.isInteger(guests) || guests < 1) {
  console.error('soak: --minutes must be > 0 and --guests a whole number ≥ 1');
  process.exit(2);
}
const report = await runSoak({
  minutes,
  guests,
  seed,
  log: (line) => console.error(line),
});
for (const problem of report.problems) console.error(`soak: PROBLEM ${problem}`);
console.error(
  `soak: seed=${seed} minutes=${minutes} guests=${guests} crashes=${report.crashes} freezes=${report.freezes} restarts=${report.restarts} rss=${(report.rss.start / 2 ** 20).toFixed(1)}->${(report.rss.end / 2 ** 20).toFixed(1)}MiB fds=${report.fds.start}->${report.fds.end}`,
);
const rssGrowth = ((report.rss.end - report.rss.start) / report.rss.start) * 100;
console.log(
  `soak: ops=${report.ops} lost=${report.lost} corrupted=${report.corrupted} leaked=${report.leaked} rss_growth=${rssGrowth.toFixed(1)}% fds_growth=${report.fds.end - report.fds.start}`,
);
process.exit(report.lost || report.corrupted || report.leaked ? 1 : 0);
