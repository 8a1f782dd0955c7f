/**
 * `npm run crash -- --rounds N --seed S [--survivors K]`: guests killed and frozen at chosen
 * moments against a real host (see crash-campaign.ts). Prints a line per round, then one
 * summary line; exits 1 if the host broke any promise.
 */
import { parseArgs } from 'node:util';
import { runCrashCampaign } from './crash-campaign.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '8' },
    seed: { type: 'string' },
    survivors: { type: 'string', default: '2' },
  },
});
const seed = values.seed === undefined ? Date.now() % 0x7fff_ffff : Number(values.seed);
const report = await runCrashCampaign({
  rounds: Number(values.rounds),
  seed,
  survivors: Number(values.survivors),
  log: (line) => console.log(line),
});
for (const problem of report.problems) console.log(`crash: PROBLEM ${problem}`);
const moments = Object.entries(report.moments)
  .map(([moment, count]) => `${moment}=${count}`)
  .join(' ');
console.log(`crash: moments ${moments}`);
const rssGrowth = ((report.rss.end - report.rss.baseline) / report.rss.baseline) * 100;
console.log(
  `crash: seed=${seed} rounds=${report.rounds} kills=${report.kills} freezes=${report.freezes} survivor_ops=${report.survivorOps} problems=${report.problems.length} fds=${report.fds.baseline}->${report.fds.end} rss_growth=${rssGrowth.toFixed(1)}%`,
);
process.exit(report.problems.length > 0 ? 1 : 0);
