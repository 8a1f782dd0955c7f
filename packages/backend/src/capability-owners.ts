/**
 * Which guest obtained each capability of one engine (capability values are the engine's, so
 * there is one table per service): only that guest may release it.
 */
export class CapabilityOwners {
  private readonly owners = new Map<string, number>();

  add(kind: string, value: number, guest: number): void {
    this.owners.set(keyOf(kind, value), guest);
  }

  ownerOf(kind: string, value: number): number | undefined {
    return this.owners.get(keyOf(kind, value));
  }

  remove(kind: string, value: number): void {
    this.owners.delete(keyOf(kind, value));
  }

  get size(): number {
    return this.owners.size;
  }
}

function keyOf(kind: string, value: number): string {
  return `${kind}:${value}`;
}
