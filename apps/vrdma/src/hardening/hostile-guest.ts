import { createConnection } from 'node:net';
import {
  type ApiSpec,
  type CompiledFunction,
  createCodec,
  FRAME_HEADER_SIZE,
  writeFrameHeader,
} from '@vrdma/api-spec';
import type { ApiProfile, HeldObjects } from './api-profile.js';
import type { HostileAction, Payload } from './hostile-actions.js';
import { type OpenGuest, openGuest } from './open-guest.js';
import { FuzzFailure, type Outcome, settle } from './step-outcome.js';

/** How long one move may take before it counts as silence: generous, the machine is shared. */
const ANSWER_MS = 15_000;
/** A move that may legitimately wait (posted frames, odd kinds) is given less before moving on. */
const MAY_WAIT_MS = 1_000;

/** Raw call ids far from the stub's own, so that no raw frame collides with a call in flight. */
let nextRawCall = 0x4000_0000;

/** A guest attached to play against the host: it holds a few objects of its own. */
export class HostileGuest<S extends ApiSpec> {
  private readonly codec;
  /** Set once a move broke its own rings: it is retired after the step. */
  spent = false;

  private constructor(
    readonly guest: OpenGuest<S>,
    readonly own: HeldObjects,
    private readonly profile: ApiProfile<S>,
    private readonly socketPath: string,
  ) {
    this.codec = createCodec(profile.spec);
  }

  static async open<S extends ApiSpec>(
    socketPath: string,
    profile: ApiProfile<S>,
    label: string,
  ): Promise<HostileGuest<S>> {
    const guest = await openGuest(socketPath, {
      spec: profile.spec,
      label,
      memoryBytes: 1 << 20,
    });
    const own = await profile.prepare(guest.connection);
    return new HostileGuest(guest, own, profile, socketPath);
  }

  get gone(): boolean {
    return this.guest.gone;
  }

  /** Plays one move; returns how the host answered, or throws FuzzFailure. */
  async play(action: HostileAction, victims: readonly HeldObjects[]): Promise<Outcome> {
    const isGone = () => this.gone;
    const { spec } = this.profile;
    const api = this.guest.connection.api as unknown as Record<
      string,
      (args: unknown) => Promise<unknown>
    >;
    switch (action.t) {
      case 'frame': {
        const fn = spec.table[(action.fn - 1) % spec.table.length] ?? spec.table[0]!;
        const callId = nextRawCall++;
        const frame = this.rawFrame(action, fn, callId);
        const transport = action.plane === 'control' ? this.guest.control : this.guest.data;
        // Only a well-formed request header obliges the host to answer.
        const mustAnswer = action.kind === 1 && action.version === 1;
        return settle(
          () => transport.call(frame, { fn, callId }),
          isGone,
          mustAnswer ? ANSWER_MS : MAY_WAIT_MS,
        );
      }
      case 'call': {
        const fn = spec.table[(action.fn - 1) % spec.table.length]!;
        return settle(() => api[fn.name]!(boundedWaits(action.args)), isGone, ANSWER_MS);
      }
      case 'foreign': {
        const victim = victims[action.victim % victims.length]!;
        const attempts = Object.values(
          this.profile.foreignAttempts(this.guest.connection, this.own, victim, action.guess),
        );
        const attempt = attempts[action.attempt % attempts.length]!;
        const outcome = await settle(attempt, isGone, ANSWER_MS);
        if (outcome.kind === 'ok')
          throw new FuzzFailure('an attempt on another guest’s objects succeeded');
        return outcome;
      }
      case 'ref': {
        const victim = victims[action.fn % victims.length]!;
        const region =
          action.region === 'own'
            ? (this.guest.regions.memory?.id ?? 0)
            : action.region === 'victim'
              ? (victim.ref as { region: number }).region
              : action.region;
        const ref = { region, offset: action.offset, length: action.length };
        const outcome = await settle(
          () => this.profile.callWithRef(this.guest.connection, this.own, ref, action.fn),
          isGone,
          ANSWER_MS,
        );
        if (outcome.kind === 'ok' && action.region === 'victim')
          throw new FuzzFailure('a transfer through another guest’s memory succeeded');
        return outcome;
      }
      case 'ring': {
        const region =
          action.ring === 'control' ? this.guest.regions.control : this.guest.regions.data;
        const at = action.at % (region.bytes.length - action.bytes.length);
        // A call in flight while the garbage lands: the host is mid-chain, mid-frame.
        const inFlight = settle(() => this.profile.ping(this.guest.connection), isGone, 2_000);
        region.bytes.set(action.bytes, at);
        this.guest.kick();
        this.spent = true;
        // Its own ring may now be beyond use: any answer, or none, is the guest's own loss.
        return inFlight;
      }
      case 'socket': {
        this.guest.socket.write(action.bytes);
        this.spent = true;
        return settle(() => this.profile.ping(this.guest.connection), isGone, 2_000);
      }
      case 'attach':
        return strangerAttach(this.socketPath, action.line, action.raw);
      case 'hoard': {
        const makers = this.profile.makers(this.guest.connection, this.own, action.size);
        const make = makers[action.what % makers.length]!;
        let last: Outcome = { kind: 'ok' };
        for (let i = 0; i < action.count && last.kind !== 'gone'; i++)
          last = await settle(make, isGone, ANSWER_MS);
        return last;
      }
    }
  }

  /** The host answering this guest too, unless it let it go. */
  async answering(): Promise<boolean> {
    if (this.gone) return true;
    const outcome = await settle(
      () => this.profile.ping(this.guest.connection),
      () => this.gone,
      ANSWER_MS,
    );
    return outcome.kind !== 'silent';
  }

  /** Drops the connection without a goodbye, as a crashed guest does. */
  crash(): void {
    this.guest.socket.destroy();
  }

  private rawFrame(
    action: Extract<HostileAction, { t: 'frame' }>,
    fn: CompiledFunction,
    callId: number,
  ): Uint8Array {
    const frame = this.payloadFrame(action.payload, fn, callId);
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    writeFrameHeader(view, 0, {
      kind: action.kind as 1,
      fnId: action.fn,
      callId,
      fingerprint32:
        action.fingerprint === 0 ? this.profile.spec.fingerprint32 : action.fingerprint,
    });
    view.setUint8(0, action.version);
    return frame;
  }

  private payloadFrame(payload: Payload, fn: CompiledFunction, callId: number): Uint8Array {
    const withHeader = (body: Uint8Array) => {
      const frame = new Uint8Array(FRAME_HEADER_SIZE + body.length);
      frame.set(body, FRAME_HEADER_SIZE);
      return frame;
    };
    switch (payload.p) {
      case 'bytes':
        return withHeader(payload.bytes);
      case 'packed':
        try {
          return this.codec.encodeRequest(fn, callId, payload.value).slice();
        } catch {
          // A value the codec will not encode (a data-plane layout refuses it): its JSON, then.
          return withHeader(Buffer.from(JSON.stringify(payload.value, jsonSafe) ?? 'null'));
        }
      case 'mutated': {
        let frame: Uint8Array;
        try {
          frame = this.codec
            .encodeRequest(fn, callId, this.profile.sampleArgs(fn, this.own))
            .slice();
        } catch (error) {
          // The profile's sample is the harness's own: a sample the codec refuses is its bug.
          throw new Error(`the ${fn.name} sample does not encode: ${String(error)}`);
        }
        const body = frame.length - FRAME_HEADER_SIZE;
        if (body > 0)
          for (const { at, value } of payload.flips) frame[FRAME_HEADER_SIZE + (at % body)] = value;
        return frame;
      }
    }
  }
}

function jsonSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/** A `wait` with a long timeout is a legitimate long call: kept short so that silence means something. */
function boundedWaits(args: unknown): unknown {
  if (typeof args !== 'object' || args === null || Array.isArray(args)) return args;
  const { timeoutMs } = args as { timeoutMs?: unknown };
  if (typeof timeoutMs === 'number' && timeoutMs > 1_000) return { ...args, timeoutMs: 1_000 };
  return args;
}

/**
 * A stranger on the attach socket that says `line` and `raw` bytes instead of a proper attach:
 * the host must answer (a refusal) or hang up within its attach timeout; it must not hang.
 */
function strangerAttach(path: string, line: string, raw: Uint8Array): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new FuzzFailure('the host neither answered nor hung up on a bad attach'));
    }, ANSWER_MS);
    const done = (outcome: Outcome) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    socket.on('error', () => done({ kind: 'gone' }));
    socket.once('data', () => done({ kind: 'refused', code: 'ATTACH' }));
    socket.once('close', () => done({ kind: 'gone' }));
    socket.write(`${line}\n`);
    socket.write(raw);
  });
}
