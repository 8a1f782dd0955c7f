/** The virtio-serial port a VM guest of the bench hears its workloads on. */
export const WORKLOAD_PORT_NAME = 'org.vrdma.workloads';

/** Workload messages as JSON lines; bigints (global addresses) travel as {"$bigint":"…"}. */
export function encodeLine(message: unknown): string {
  return `${JSON.stringify(message, (_key, value) =>
    typeof value === 'bigint' ? { $bigint: value.toString() } : value,
  )}\n`;
}

export function decodeLine(line: string): unknown {
  return JSON.parse(line, (_key, value) =>
    value !== null && typeof value === 'object' && typeof value.$bigint === 'string'
      ? BigInt(value.$bigint)
      : value,
  );
}

/** Calls `onLine` with each complete line of a byte stream. */
export function splitLines(onLine: (line: string) => void): (chunk: Uint8Array) => void {
  let partial = '';
  return (chunk) => {
    partial += Buffer.from(chunk).toString('utf8');
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) if (line.length > 0) onLine(line);
  };
}
