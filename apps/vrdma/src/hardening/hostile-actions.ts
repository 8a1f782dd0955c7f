import fc from 'fast-check';

/** What the bytes of a raw frame's payload are. */
export type Payload =
  /** A well-formed call of the function, some of its bytes overwritten. */
  | { p: 'mutated'; flips: Array<{ at: number; value: number }> }
  /** Any value msgpack can carry, where the function's arguments belong. */
  | { p: 'packed'; value: unknown }
  | { p: 'bytes'; bytes: Uint8Array };

/** One move of the hostile guest. */
export type HostileAction =
  /** A raw frame on the control plane (virtqueue) or the data plane (shm ring). */
  | {
      t: 'frame';
      plane: 'control' | 'data';
      /** Frame kind byte; 1 (Request) is what a host must always answer. */
      kind: number;
      /** A function id: real ones (1..n) and beyond. */
      fn: number;
      /** 0 keeps the spec's fingerprint. */
      fingerprint: number;
      version: number;
      payload: Payload;
    }
  /** A call through the guest's typed stub, with arguments of any shape. */
  | { t: 'call'; fn: number; args: unknown }
  /** An attempt on an honest guest's objects: handles, keys (guessed), buffer references. */
  | { t: 'foreign'; victim: number; attempt: number; guess: number }
  /** A buffer reference of its own choosing in a data-plane call. */
  | { t: 'ref'; fn: number; region: number | 'own' | 'victim'; offset: number; length: number }
  /**
   * Garbage written into its own rings' shared memory at byte `at` (mostly among the first
   * pages, where the headers, descriptors and indices live), then a doorbell.
   */
  | { t: 'ring'; ring: 'control' | 'data'; at: number; bytes: Uint8Array }
  /** Raw bytes on its socket, where only doorbell bytes belong. */
  | { t: 'socket'; bytes: Uint8Array }
  /** A second connection that says anything but a proper attach. */
  | { t: 'attach'; line: string; raw: Uint8Array }
  /** Hoards: many objects of one kind at once (the profile's `what`-th maker), within or beyond its quotas. */
  | { t: 'hoard'; what: number; count: number; size: number };

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });

const payload: fc.Arbitrary<Payload> = fc.oneof(
  fc.record({
    p: fc.constant('mutated' as const),
    flips: fc.array(
      fc.record({ at: fc.nat({ max: 96 }), value: fc.integer({ min: 0, max: 255 }) }),
      {
        minLength: 1,
        maxLength: 4,
      },
    ),
  }),
  fc.record({
    p: fc.constant('packed' as const),
    value: fc.oneof(
      fc.anything({ maxDepth: 2, withBigInt: true, withTypedArray: true }),
      fc.dictionary(
        fc.constantFrom('channel', 'buffer', 'key', 'size', 'local', 'remote', 'depth', 'max'),
        fc.oneof(u32, fc.double(), fc.string(), fc.bigInt(), fc.constant(null)),
      ),
    ),
  }),
  fc.record({ p: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 256 }) }),
);

/** Every hostile move, weighted towards the ones that reach deepest into the host. */
export function hostileAction(functionCount: number): fc.Arbitrary<HostileAction> {
  const fnId = fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: 1, max: functionCount }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
  );
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        t: fc.constant('frame' as const),
        plane: fc.constantFrom('control' as const, 'data' as const),
        kind: fc.oneof({ weight: 8, arbitrary: fc.constant(1) }, fc.integer({ min: 0, max: 255 })),
        fn: fnId,
        fingerprint: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, u32),
        version: fc.oneof(
          { weight: 8, arbitrary: fc.constant(1) },
          fc.integer({ min: 0, max: 255 }),
        ),
        payload,
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        t: fc.constant('call' as const),
        fn: fc.integer({ min: 1, max: functionCount }),
        args: fc.oneof(
          fc.anything({ maxDepth: 2 }),
          fc.dictionary(
            fc.constantFrom('channel', 'buffer', 'key', 'size', 'align', 'depth', 'timeoutMs'),
            fc.oneof(fc.integer(), u32, fc.double(), fc.string()),
          ),
        ),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        t: fc.constant('foreign' as const),
        victim: fc.nat(),
        attempt: fc.nat(),
        guess: u32,
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        t: fc.constant('ref' as const),
        fn: fc.nat(),
        region: fc.oneof(fc.constant('own' as const), fc.constant('victim' as const), u32),
        offset: fc.oneof(fc.nat({ max: 1 << 24 }), u32),
        length: fc.oneof(fc.nat({ max: 1 << 20 }), u32),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        t: fc.constant('ring' as const),
        ring: fc.constantFrom('control' as const, 'data' as const),
        at: fc.oneof({ weight: 4, arbitrary: fc.nat({ max: 16_383 }) }, fc.nat({ max: 1 << 20 })),
        bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        t: fc.constant('socket' as const),
        bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        t: fc.constant('attach' as const),
        line: fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.json({ maxDepth: 2 }),
          fc
            .record({
              type: fc.constantFrom('attach', 'hello', ''),
              version: fc.integer(),
              label: fc.string({ maxLength: 300 }),
              memoryBytes: fc.oneof(fc.integer(), fc.double()),
            })
            .map((r) => JSON.stringify(r)),
        ),
        raw: fc.uint8Array({ maxLength: 64 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        t: fc.constant('hoard' as const),
        what: fc.nat(),
        count: fc.integer({ min: 1, max: 64 }),
        size: fc.oneof(fc.integer({ min: 1, max: 1 << 20 }), u32),
      }),
    },
  );
}

/** A step as one printable line: what a failure report names. */
export function describeAction(action: HostileAction): string {
  return JSON.stringify(action, (_key, value) =>
    value instanceof Uint8Array
      ? `bytes:${Buffer.from(value).toString('hex')}`
      : typeof value === 'bigint'
        ? `${value}n`
        : value,
  );
}
