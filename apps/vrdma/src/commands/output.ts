/** Where commands speak: results on stdout, progress and diagnostics on stderr. */
export interface Output {
  line(text: string): void;
  note(text: string): void;
}

export const consoleOutput: Output = {
  line: (text) => process.stdout.write(`${text}\n`),
  note: (text) => process.stderr.write(`${text}\n`),
};

/**
 * A one-line progress bar on a terminal; elsewhere (a pipe, a CI log) one line per step, so
 * that a long run is never silent.
 */
export function progressBar(
  total: number,
  stream: Pick<NodeJS.WriteStream, 'isTTY' | 'write'> = process.stderr,
) {
  let done = 0;
  const width = 30;
  const draw = (label: string) => {
    if (!stream.isTTY) {
      stream.write(`[${String(done).padStart(String(total).length)}/${total}] ${label}\n`);
      return;
    }
    const filled = Math.round((done / total) * width);
    stream.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round((done / total) * 100)).padStart(3)}% ${label.padEnd(40).slice(0, 40)}`,
    );
  };
  return {
    step(label: string) {
      done = Math.min(total, done + 1);
      draw(label);
    },
    start(label: string) {
      if (stream.isTTY) draw(label);
    },
    finish() {
      if (stream.isTTY) stream.write('\r\x1b[2K');
    },
  };
}
