/** Something the host wants an operator to see: a refused cross-guest attempt, a departure. */
export interface AuditRecord {
  at: number;
  guest: number;
  label: string;
  /** `access`: a failed access check (wrong key or range), or a remote access refused for them. */
  kind: 'isolation' | 'quota' | 'access' | 'attach' | 'detach';
  message: string;
}

/** A bounded in-memory log; the oldest records go first. */
export class AuditLog {
  private readonly records: AuditRecord[] = [];

  constructor(
    private readonly capacity: number,
    private readonly sink?: (record: AuditRecord) => void,
  ) {}

  add(record: Omit<AuditRecord, 'at'>): void {
    const full = { at: Date.now(), ...record };
    if (this.capacity > 0) {
      if (this.records.length >= this.capacity) this.records.shift();
      this.records.push(full);
    }
    this.sink?.(full);
  }

  list(filter?: Partial<Pick<AuditRecord, 'guest' | 'kind'>>): AuditRecord[] {
    return this.records.filter(
      (r) =>
        (filter?.guest === undefined || r.guest === filter.guest) &&
        (filter?.kind === undefined || r.kind === filter.kind),
    );
  }
}
