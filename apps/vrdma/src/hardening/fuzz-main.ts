/**
 * `npm run fuzz -- --runs N --seed S [--path P] [--steps K]`: plays hostile guests against a
 * real host (see fuzz-campaign.ts); prints one summary line, and on failure the failing step
 * and the command that replays it. Exits 1 on failure.
 */
import { parseArgs } from 'node:util';
import { runFuzzCampaign } from './fuzz-campaign.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    seed: { type: 'string' },
    path: { type: 'string' },
    steps: { type: 'string', default: '12' },
  },
});
const runs = Number(values.runs);
const seed = values.seed === undefined ? Date.now() % 0x7fff_ffff : Number(values.seed);
const report = await runFuzzCampaign({
  runs,
  seed,
  path: values.path,
  maxSteps: Number(values.steps),
});
const outcomes = Object.entries(report.outcomes)
  .sort(([a], [b]) => a.localeCompare(b))
  .map(([key, count]) => `${key}=${count}`)
  .join(' ');
console.log(
  `fuzz: seed=${seed} runs=${report.runs} steps=${report.steps} hostile_guests=${report.hostileGuests} failures=${report.failure ? 1 : 0} fds=${report.fds.start}->${report.fds.end}`,
);
const apis = Object.entries(report.byApi)
  .map(([api, count]) => `${api}=${count}`)
  .join(' ');
console.log(`fuzz: runs by API ${apis}; outcomes ${outcomes}`);
if (report.failure) {
  const { path, step, action, message } = report.failure;
  console.log(`fuzz: FAILED at step ${step} of run ${path}: ${message}`);
  console.log(`fuzz: step ${action}`);
  console.log(
    `fuzz: replay with npm run fuzz -- --runs ${runs} --seed ${seed} --path ${path} --steps ${values.steps}`,
  );
  process.exit(1);
}
process.exit(0);
