import { type Region, VrdmaError } from '@vrdma/api-spec';

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function swap16(value: number): number {
  return ((value & 0xff) << 8) | ((value >> 8) & 0xff);
}

function swap32(value: number): number {
  return (
    ((value & 0xff) << 24) | ((value & 0xff00) << 8) | ((value >>> 8) & 0xff00) | (value >>> 24)
  );
}

const le32 = (value: number): number => (HOST_IS_LITTLE_ENDIAN ? value | 0 : swap32(value));

/**
 * Little-endian access to a shared region, as virtio 1.x requires on every host.
 *
 * The 16-bit ring words that publish work to the other side (idx, flags, event indices) go
 * through `Atomics` so that a store is a release and a load an acquire across threads; on a
 * big-endian host the value is byte-swapped around the atomic access. Everything else
 * (descriptors, used elements, payloads) is plain DataView access ordered by those atomics.
 */
export class RingMemory {
  readonly size: number;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  private readonly words: Uint16Array;
  private readonly words32: Int32Array;
  /**
   * Told of every write, in order, when set: lets memory that is not directly shared (a file
   * reached through pread/pwrite) publish this side's writes to the peer in the right order.
   */
  onWrite: ((at: number, length: number) => void) | undefined;

  constructor(region: Region) {
    const { bytes } = region;
    if (bytes.byteOffset % 8 !== 0) {
      throw new VrdmaError('TRANSPORT', 'a virtqueue region must start 8-byte aligned');
    }
    this.size = bytes.byteLength;
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.words = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 1);
    this.words32 = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
  }

  /** Atomic le32 load at a 4-aligned offset (status words both sides update). */
  load32(at: number): number {
    return le32(Atomics.load(this.words32, at >>> 2)) >>> 0;
  }

  store32(at: number, value: number): void {
    Atomics.store(this.words32, at >>> 2, le32(value));
    this.onWrite?.(at, 4);
  }

  /** Atomically sets bits in a le32 word. */
  or32(at: number, bits: number): void {
    Atomics.or(this.words32, at >>> 2, le32(bits));
    this.onWrite?.(at, 4);
  }

  /** Atomic le16 load at an even offset. */
  load16(at: number): number {
    const raw = Atomics.load(this.words, at >>> 1);
    return HOST_IS_LITTLE_ENDIAN ? raw : swap16(raw);
  }

  /** Atomic le16 store at an even offset. */
  store16(at: number, value: number): void {
    Atomics.store(this.words, at >>> 1, HOST_IS_LITTLE_ENDIAN ? value & 0xffff : swap16(value));
    this.onWrite?.(at, 2);
  }

  u16(at: number): number {
    return this.view.getUint16(at, true);
  }

  setU16(at: number, value: number): void {
    this.view.setUint16(at, value, true);
    this.onWrite?.(at, 2);
  }

  u32(at: number): number {
    return this.view.getUint32(at, true);
  }

  setU32(at: number, value: number): void {
    this.view.setUint32(at, value, true);
    this.onWrite?.(at, 4);
  }

  /**
   * le64 as a JS number, or -1 when it does not fit a safe integer (such an address is outside
   * any region we could hold, and the caller treats it as such).
   */
  u64(at: number): number {
    const low = this.view.getUint32(at, true);
    const high = this.view.getUint32(at + 4, true);
    return high >= 0x200000 ? -1 : high * 0x1_0000_0000 + low;
  }

  setU64(at: number, value: number): void {
    this.view.setUint32(at, value % 0x1_0000_0000, true);
    this.view.setUint32(at + 4, Math.floor(value / 0x1_0000_0000), true);
    this.onWrite?.(at, 8);
  }
}
