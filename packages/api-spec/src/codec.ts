import { Packr } from 'msgpackr';
import type { ApiSpec, CompiledFunction } from './define-api.js';
import type { SchemaNode } from './describe-schema.js';
import { VrdmaError, type WireError } from './errors.js';
import {
  encodeFrame,
  FRAME_HEADER_SIZE,
  type Frame,
  FrameKind,
  writeFrameHeader,
} from './frame.js';

/**
 * Turns calls, results and errors of one spec into frames and back. Control-plane payloads
 * are msgpack with record structures shared in advance (derived from the spec, so both sides
 * agree without sending them); data-plane payloads are fixed-layout records.
 *
 * A codec keeps msgpack structure state: use one per connection (one per guest on the host).
 */
export interface Codec {
  readonly spec: ApiSpec;
  /** A request (or, with `kind` Post, a posted request) for `fn`. */
  encodeRequest(fn: CompiledFunction, callId: number, args: unknown, kind?: FrameKind): Uint8Array;
  /** Writes a data-plane request straight into `view` at `at`; returns the bytes written. */
  encodeDataRequestInto(
    view: DataView,
    at: number,
    fn: CompiledFunction,
    callId: number,
    args: unknown,
  ): number;
  /** A result (or, with `kind` Completion, entries the host writes unasked) of `fn`. */
  encodeResult(fn: CompiledFunction, callId: number, result: unknown, kind?: FrameKind): Uint8Array;
  encodeError(fnId: number, callId: number, error: VrdmaError): Uint8Array;
  /** Decodes a request's arguments: fixed layout checked, or msgpack (validate with zod after). */
  decodeArgs(fn: CompiledFunction, frame: Frame): unknown;
  decodeResult(fn: CompiledFunction, frame: Frame): unknown;
  decodeError(frame: Frame): VrdmaError;
}

export function createCodec(spec: ApiSpec): Codec {
  // Separate instances: what a peer's messages define can never change how we encode.
  const makePackr = () => {
    const structures = sharedStructuresOf(spec);
    return new Packr({
      structures,
      maxSharedStructures: structures.length,
      useRecords: true,
      mapsAsObjects: true, // plain maps from any msgpack library decode as objects
      moreTypes: false,
    });
  };
  const packer = makePackr();
  const unpacker = makePackr();
  const fp = spec.fingerprint32;

  const pack = (value: unknown): Uint8Array => packer.pack(value);
  const unpack = (payload: Uint8Array, what: string): unknown => {
    try {
      return unpacker.unpack(payload);
    } catch (error) {
      throw new VrdmaError('MALFORMED_FRAME', `${what}: undecodable msgpack payload`, {
        cause: error,
      });
    }
  };

  const fixedFrame = (
    kind: FrameKind,
    fn: CompiledFunction,
    callId: number,
    value: unknown,
  ): Uint8Array => {
    const request = kind === FrameKind.Request || kind === FrameKind.Post;
    const layout = (request ? fn.argsLayout : fn.resultLayout)!;
    const bytes = new Uint8Array(FRAME_HEADER_SIZE + layout.size);
    const view = new DataView(bytes.buffer);
    writeFrameHeader(view, 0, { kind, fnId: fn.id, callId, fingerprint32: fp });
    layout.write(view, FRAME_HEADER_SIZE, value);
    return bytes;
  };

  const readFixed = (frame: Frame, fn: CompiledFunction, which: 'args' | 'result'): unknown => {
    const layout = (which === 'args' ? fn.argsLayout : fn.resultLayout)!;
    if (frame.payload.length !== layout.size) {
      throw new VrdmaError(
        'MALFORMED_FRAME',
        `${fn.name} ${which}: record of ${frame.payload.length} bytes, expected ${layout.size}`,
      );
    }
    const { buffer, byteOffset, byteLength } = frame.payload;
    return layout.read(new DataView(buffer, byteOffset, byteLength), 0);
  };

  return {
    spec,
    encodeRequest(fn, callId, args, kind = FrameKind.Request) {
      if (fn.argsLayout) return fixedFrame(kind, fn, callId, args ?? {});
      return encodeFrame({ kind, fnId: fn.id, callId, fingerprint32: fp }, pack(args ?? {}));
    },
    encodeDataRequestInto(view, at, fn, callId, args) {
      const layout = fn.argsLayout;
      if (!layout) throw new VrdmaError('INTERNAL', `${fn.name} is not a data-plane function`);
      writeFrameHeader(view, at, {
        kind: FrameKind.Request,
        fnId: fn.id,
        callId,
        fingerprint32: fp,
      });
      layout.write(view, at + FRAME_HEADER_SIZE, args ?? {});
      return FRAME_HEADER_SIZE + layout.size;
    },
    encodeResult(fn, callId, result, kind = FrameKind.Result) {
      if (fn.resultLayout) return fixedFrame(kind, fn, callId, result);
      return encodeFrame({ kind, fnId: fn.id, callId, fingerprint32: fp }, pack(result));
    },
    encodeError(fnId, callId, error) {
      const wire: WireError = error.toWire();
      return encodeFrame({ kind: FrameKind.Error, fnId, callId, fingerprint32: fp }, pack(wire));
    },
    decodeArgs(fn, frame) {
      return fn.argsLayout
        ? readFixed(frame, fn, 'args')
        : unpack(frame.payload, `${fn.name} args`);
    },
    decodeResult(fn, frame) {
      return fn.resultLayout
        ? readFixed(frame, fn, 'result')
        : unpack(frame.payload, `${fn.name} result`);
    },
    decodeError(frame) {
      return VrdmaError.fromWire(unpack(frame.payload, 'error reply'));
    },
  };
}

/** Key lists of every object in the spec's control-plane schemas, in a stable order. */
function sharedStructuresOf(spec: ApiSpec): string[][] {
  const seen = new Map<string, string[]>();
  const visit = (node: SchemaNode): void => {
    switch (node.type) {
      case 'object': {
        const keys = node.fields.map(([k]) => k);
        if (keys.length > 0) seen.set(keys.join('\u0000'), keys);
        for (const [, field] of node.fields) visit(field);
        return;
      }
      case 'buffer-ref':
        seen.set('region\u0000offset\u0000length', ['region', 'offset', 'length']);
        return;
      case 'array':
        visit(node.element);
        return;
      case 'optional':
      case 'nullable':
      case 'default':
        visit(node.inner);
        return;
      case 'union':
        for (const option of node.options) visit(option);
        return;
      case 'record':
        visit(node.value);
        return;
      default:
        return;
    }
  };
  for (const fn of spec.table) {
    if (fn.plane === 'data') continue;
    visit(fn.argsNode);
    visit(fn.resultNode);
  }
  visit({
    type: 'object',
    fields: [
      ['code', { type: 'void' }],
      ['message', { type: 'void' }],
      ['cause', { type: 'void' }],
    ],
  });
  return [...seen.values()].slice(0, 0x20);
}
