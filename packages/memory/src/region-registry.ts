import { type BufferRef, type Region, VrdmaError } from '@vrdma/api-spec';

/**
 * The host's list of one guest's regions. Buffer references coming from that guest are
 * resolved here and only here: a reference naming a region of another guest is BAD_HANDLE,
 * one that does not fit inside its region is OUT_OF_RANGE. Nothing stored in shared memory
 * is consulted: the sizes are those the host mapped.
 */
export class RegionRegistry {
  private readonly regions = new Map<number, Region>();

  register(region: Region): void {
    if (this.regions.has(region.id)) {
      throw new VrdmaError('INVALID_ARGUMENT', `region ${region.id} is already registered`);
    }
    if (region.bytes.byteLength !== region.size) {
      throw new VrdmaError(
        'INVALID_ARGUMENT',
        `region ${region.id} claims ${region.size} bytes but maps ${region.bytes.byteLength}`,
      );
    }
    this.regions.set(region.id, region);
  }

  unregister(id: number): boolean {
    return this.regions.delete(id);
  }

  get(id: number): Region | undefined {
    return this.regions.get(id);
  }

  get ids(): number[] {
    return [...this.regions.keys()];
  }

  /** The bytes a reference names: a view into the guest's region (zero-copy), bounds-checked. */
  resolve(ref: BufferRef): Uint8Array {
    const { region: id, offset, length } = ref;
    const region = Number.isInteger(id) ? this.regions.get(id) : undefined;
    if (!region) {
      throw new VrdmaError('BAD_HANDLE', `region ${String(id)} is not registered by this guest`);
    }
    if (
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(length) ||
      offset < 0 ||
      length < 0 ||
      offset > region.size ||
      length > region.size - offset
    ) {
      throw new VrdmaError(
        'OUT_OF_RANGE',
        `[${String(offset)}, +${String(length)}) is outside region ${id} of ${region.size} bytes`,
      );
    }
    return region.bytes.subarray(offset, offset + length);
  }

  clear(): void {
    this.regions.clear();
  }
}
