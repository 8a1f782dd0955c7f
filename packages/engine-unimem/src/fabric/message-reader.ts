import {
  carriesPayload,
  decodeHeader,
  HEADER_SIZE,
  type Header,
  ProtocolError,
} from './protocol.js';

/** Where a message's payload goes as it arrives: straight into its final memory. */
export interface PayloadSink {
  /** `bytes` of the payload, starting `at` bytes into it. Valid only during the call. */
  data(bytes: Uint8Array, at: number): void;
  end(): void;
}

/**
 * Splits a TCP byte stream into messages. Payloads are never buffered: each piece is handed
 * to the sink the header chose as it arrives (or dropped when there is none), so a payload
 * is copied once, from the socket's buffer into its destination.
 */
export class MessageReader {
  private readonly header = new Uint8Array(HEADER_SIZE);
  private headerFill = 0;
  private payloadLeft = 0;
  private payloadAt = 0;
  private sink: PayloadSink | undefined;

  constructor(
    /** Handles a header; returns the sink for its payload, if it has one and it is wanted. */
    private readonly onMessage: (header: Header) => PayloadSink | undefined,
    private readonly maxPayload: number,
  ) {}

  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.payloadLeft > 0) {
        const count = Math.min(this.payloadLeft, chunk.length - at);
        this.sink?.data(chunk.subarray(at, at + count), this.payloadAt);
        at += count;
        this.payloadAt += count;
        this.payloadLeft -= count;
        if (this.payloadLeft === 0) this.endPayload();
        continue;
      }
      const count = Math.min(HEADER_SIZE - this.headerFill, chunk.length - at);
      this.header.set(chunk.subarray(at, at + count), this.headerFill);
      this.headerFill += count;
      at += count;
      if (this.headerFill < HEADER_SIZE) break;
      this.headerFill = 0;
      const header = decodeHeader(this.header);
      const payload = carriesPayload(header.type) ? header.length : 0;
      if (payload > this.maxPayload)
        throw new ProtocolError(`payload of ${payload} bytes exceeds ${this.maxPayload}`);
      this.sink = this.onMessage(header);
      this.payloadLeft = payload;
      this.payloadAt = 0;
      if (payload === 0 && this.sink) this.endPayload();
    }
  }

  private endPayload(): void {
    const sink = this.sink;
    this.sink = undefined;
    sink?.end();
  }
}
