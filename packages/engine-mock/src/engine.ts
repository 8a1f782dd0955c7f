import type { SessionOptions, UnimemEngine } from '@vrdma/unimem-api';
import type { MockCluster } from './cluster.js';
import { MockSession } from './session.js';

/** One node of a mock cluster: the Unimem device the backend drives, or used natively. */
export class MockEngine implements UnimemEngine {
  private sessions = 0;

  constructor(
    readonly cluster: MockCluster,
    readonly node: number,
  ) {}

  openSession(options: SessionOptions = {}): MockSession {
    this.sessions += 1;
    return new MockSession(
      this,
      options,
      options.label ?? `node${this.node}/session${this.sessions}`,
    );
  }
}
