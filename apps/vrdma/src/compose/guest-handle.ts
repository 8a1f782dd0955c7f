import type { AttachedGuest } from '@vrdma/backend';
import type { WorkloadRequest, WorkloadResult } from '../workloads/requests.js';

/** A running guest, thread or process, as the composition root holds it. */
export interface GuestHandle {
  readonly label: string;
  readonly attached: AttachedGuest;
  /** Runs a workload inside the guest. */
  run(request: WorkloadRequest): Promise<WorkloadResult>;
  /** Ends the guest abruptly (terminate, SIGKILL): a crash, from the host's point of view. */
  kill(): Promise<void>;
  /** Ends the guest cleanly. */
  stop(): Promise<void>;
}
