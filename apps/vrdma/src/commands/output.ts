/** Where commands speak: results on stdout, progress and diagnostics on stderr. */
export interface Output {
  line(text: string): void;
  note(text: string): void;
}

export const consoleOutput: Output = {
  line: (text) => process.stdout.write(`${text}\n`),
  note: (text) => process.stderr.write(`${text}\n`),
};

/** A one-line progress bar on a terminal; silent elsewhere. */
export function progressBar(total: number, stream: NodeJS.WriteStream = process.stderr) {
  let done = 0;
  const width = 30;
  const draw = (label: string) => {
    if (!stream.isTTY) return;
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
      draw(label);
    },
    finish() {
      if (stream.isTTY) stream.write('\r\x1b[2K');
    },
  };
}
