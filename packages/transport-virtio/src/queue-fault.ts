import { VrdmaError } from '@vrdma/api-spec';

/**
 * Why a device marked a queue broken. Each is something only a faulty or hostile driver does;
 * the numbers are what the device publishes in its configuration block (0 means none).
 */
export const QUEUE_FAULTS = {
  'avail-idx-out-of-range': 1,
  'head-out-of-range': 2,
  'next-out-of-range': 3,
  'chain-too-long': 4,
  'buffer-outside-region': 5,
  'length-overflow': 6,
  'indirect-not-negotiated': 7,
  'indirect-bad-length': 8,
  'indirect-nested': 9,
  'indirect-with-next': 10,
  'readable-after-writable': 11,
  'used-id-out-of-range': 12,
  'used-idx-out-of-range': 13,
  'bad-configuration': 14,
  /** A head made available again before the device returned it (used would name it twice). */
  'head-in-use': 15,
  /** Not a fault of the driver: the device went away. */
  'device-gone': 0xffff,
} as const;

export type QueueFault = keyof typeof QUEUE_FAULTS;

const FAULT_BY_CODE = new Map<number, QueueFault>(
  Object.entries(QUEUE_FAULTS).map(([name, code]) => [code, name as QueueFault]),
);

export function faultOfCode(code: number): QueueFault | undefined {
  return FAULT_BY_CODE.get(code);
}

/** The typed error a broken queue raises; the fault kind is in `cause` and the message. */
export function queueFaultError(fault: QueueFault, detail: string): VrdmaError {
  return new VrdmaError('TRANSPORT', `virtqueue broken (${fault}): ${detail}`, {
    cause: { fault },
  });
}

/** The fault a VrdmaError raised by a virtqueue carries, if any. */
export function faultOf(error: unknown): QueueFault | undefined {
  if (!(error instanceof VrdmaError)) return undefined;
  const cause = error.cause as { fault?: unknown } | undefined;
  return typeof cause?.fault === 'string' && cause.fault in QUEUE_FAULTS
    ? (cause.fault as QueueFault)
    : undefined;
}
