/** Lines printed at once before the log is rationed. */
const BURST = 5;
/** Then one line per this many milliseconds; what is held back is counted in the next line. */
const EVERY_MS = 10_000;

/**
 * Where a node says why it refused a peer: one clear line per refusal, rationed, so that a
 * process hammering the port (or a node with the wrong secret redialling) cannot flood the log.
 */
export class RefusalLog {
  private tokens = BURST;
  private last = Date.now();
  private suppressed = 0;

  constructor(private readonly write: (line: string) => void) {}

  refuse(line: string): void {
    const now = Date.now();
    this.tokens = Math.min(BURST, this.tokens + (now - this.last) / EVERY_MS);
    this.last = now;
    if (this.tokens < 1) {
      this.suppressed += 1;
      return;
    }
    this.tokens -= 1;
    const held = this.suppressed;
    this.suppressed = 0;
    this.write(held > 0 ? `${line} (${held} more refusals not shown)` : line);
  }
}

/** What a node needs to authenticate its peers: the key of its proofs, and where it logs refusals. */
export interface FabricAuth {
  readonly key: Buffer;
  readonly log: RefusalLog;
}
