import type { ApiSpec } from '@vrdma/api-spec';
import type { AttachedGuest } from '@vrdma/backend';
import fc from 'fast-check';
import { type AttachSocket, openAttachSocket } from '../compose/attach-socket.js';
import type { ApiProfile } from './api-profile.js';
import { eventually, openDescriptors } from './churn-fleet.js';
import { HonestGuests } from './honest-guests.js';
import { describeAction, type HostileAction, hostileAction } from './hostile-actions.js';
import { HostileGuest } from './hostile-guest.js';
import { departedLeftovers, within } from './ledger-check.js';
import { FuzzFailure } from './step-outcome.js';
import { TwoApiHost } from './two-api-host.js';
import { unimemProfile } from './unimem-profile.js';
import { verbsProfile } from './verbs-profile.js';

/** Every API the fuzzer's host serves, and how to play it. */
const PROFILES: readonly ApiProfile<ApiSpec>[] = [
  unimemProfile as unknown as ApiProfile<ApiSpec>,
  verbsProfile as unknown as ApiProfile<ApiSpec>,
];

export interface FuzzOptions {
  runs: number;
  seed: number;
  /** fast-check's path of a failing run: replays that run alone. */
  path?: string;
  /** Most moves of one hostile guest in one run. */
  maxSteps?: number;
  /** Honest guests beside it. */
  honest?: number;
}

export interface FuzzReport {
  runs: number;
  steps: number;
  hostileGuests: number;
  /** Runs by the API the hostile guest spoke. */
  byApi: Record<string, number>;
  /** How the host answered the hostile moves: ok, gone, silent, or the refusal's code. */
  outcomes: Record<string, number>;
  /** Descriptors the host's process had open once set up, and once every hostile guest left. */
  fds: { start: number; end: number };
  failure?: { path: string; step: number; action: string; message: string };
}

/** A failure with the step that caused it. */
class StepFailure extends Error {
  constructor(
    readonly step: number,
    readonly action: HostileAction,
    cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

interface Playing {
  hostile: HostileGuest<ApiSpec>;
  attached: AttachedGuest;
  label: string;
}

/** Checks that the host answers honest guests and keeps their bytes: a generous bound. */
const HONEST_MS = 60_000;

/**
 * Plays hostile guests against one real host (process-style guests on its socket, memfd rings)
 * with honest guests beside them, `runs` runs of random moves generated from `seed`. After every
 * move: the host answers the hostile guest (or let it go), the honest guests' round trips
 * complete with their bytes intact and the host holds for them what it held; every hostile
 * guest, once gone, leaves nothing held. Stops at the first failure and says how to replay it.
 */
export async function runFuzzCampaign(options: FuzzOptions): Promise<FuzzReport> {
  const report: FuzzReport = {
    runs: 0,
    steps: 0,
    hostileGuests: 0,
    byApi: {},
    outcomes: {},
    fds: { start: 0, end: 0 },
  };
  const deployment = TwoApiHost.create();
  let socket: AttachSocket | undefined;
  try {
    socket = await openAttachSocket(deployment.host);
    const attachSocket = socket;
    const honest = await HonestGuests.start(deployment, options.honest ?? 2, 64 << 10);
    report.fds.start = openDescriptors();
    const open = async (profile: ApiProfile<ApiSpec>): Promise<Playing> => {
      const label = `hostile-${report.hostileGuests++}-${profile.spec.name}`;
      const arrival = attachSocket.arrival(label);
      try {
        const hostile = await HostileGuest.open(attachSocket.path, profile, label);
        return { hostile, attached: await arrival.attached, label };
      } catch (error) {
        arrival.cancel();
        throw new FuzzFailure(`a new guest could not attach: ${String(error)}`);
      }
    };
    const retire = async (playing: Playing) => {
      playing.hostile.crash();
      const left = await departedLeftovers(playing.attached.departed, playing.label, HONEST_MS);
      if (left.length > 0) throw new FuzzFailure(`after it left: ${left.join(', ')}`);
    };
    // Each run, one hostile guest of one served API at a time, its moves drawn for that API.
    const runOf = fc.nat({ max: PROFILES.length - 1 }).chain((api) =>
      fc.tuple(
        fc.constant(api),
        fc.array(hostileAction(PROFILES[api]!.spec.table.length), {
          minLength: 1,
          maxLength: options.maxSteps ?? 12,
        }),
      ),
    );
    const property = fc.asyncProperty(runOf, async ([api, actions]) => {
      const profile = PROFILES[api]!;
      report.runs++;
      report.byApi[profile.spec.name] = (report.byApi[profile.spec.name] ?? 0) + 1;
      let playing = await open(profile);
      let step = 0;
      try {
        for (const action of actions) {
          report.steps++;
          try {
            const outcome = await playing.hostile.play(action, honest.victims);
            const key = outcome.kind === 'refused' ? outcome.code : outcome.kind;
            report.outcomes[key] = (report.outcomes[key] ?? 0) + 1;
            if (!(await playing.hostile.answering()))
              throw new FuzzFailure('the host stopped answering the hostile guest');
            const problems = await within(
              honest.roundTrip(report.steps),
              HONEST_MS,
              'the honest guests’ round trips',
            );
            if (problems.length > 0) throw new FuzzFailure(problems.join('; '));
            if (playing.hostile.spent || playing.hostile.gone) {
              await retire(playing);
              playing = await open(profile);
            }
          } catch (error) {
            throw new StepFailure(step, action, error);
          }
          step++;
        }
      } finally {
        await retire(playing);
      }
    });
    const details = await fc.check(property, {
      numRuns: options.runs,
      seed: options.seed,
      path: options.path,
      endOnFailure: true,
    });
    // Every hostile guest and stranger is gone: the host holds no descriptor of theirs.
    await eventually(() => openDescriptors() <= report.fds.start, HONEST_MS);
    report.fds.end = openDescriptors();
    if (!details.failed && report.fds.end > report.fds.start)
      report.failure = {
        path: '',
        step: -1,
        action: '(after every run)',
        message: `${report.fds.end - report.fds.start} descriptors were not returned`,
      };
    if (details.failed) {
      const error = details.errorInstance;
      report.failure = {
        path: details.counterexamplePath ?? '',
        step: error instanceof StepFailure ? error.step : -1,
        action: error instanceof StepFailure ? describeAction(error.action) : '(after the run)',
        message: error instanceof Error ? error.message : String(error),
      };
    }
    return report;
  } finally {
    await deployment.close();
    await socket?.close();
  }
}
