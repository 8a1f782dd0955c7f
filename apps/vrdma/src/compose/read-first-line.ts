/** Longest first line accepted; anything longer is hostile. */
const MAX_LINE_BYTES = 4096;

/**
 * Reads the first line of a socket, then hands over: `rest` is whatever arrived after the
 * newline. Rejects lines that are too long or a socket that closes.
 */
export function readFirstLine(
  socket: NodeJS.ReadableStream,
): Promise<{ line: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const newline = buffered.indexOf(0x0a);
      if (newline === -1) {
        if (buffered.length > MAX_LINE_BYTES)
          finish(new Error(`first line longer than ${MAX_LINE_BYTES} bytes`));
        return;
      }
      finish(undefined, {
        line: buffered.subarray(0, newline).toString('utf8'),
        rest: buffered.subarray(newline + 1),
      });
    };
    const onClose = () => finish(new Error('the socket closed before a full line'));
    const finish = (error?: Error, value?: { line: string; rest: Buffer }) => {
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onClose);
      if (error) reject(error);
      else resolve(value!);
    };
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', onClose);
  });
}
