/**
 * The cost of the remoting path itself, with no transport: a direct engine-mock call versus
 * the same call through stub → frame → loopback → dispatcher → engine-mock; and the two codecs
 * for a `write` descriptor. Run: npm run bench -w @vrdma/engine-mock
 */
import { createCodec } from '@vrdma/api-spec';
import { unimemSpec } from '@vrdma/unimem-api';
import { loopbackEngine } from '@vrdma/unimem-api/testing';
import { Packr } from 'msgpackr';
import { createMockCluster } from '../src/index.js';
import { nsPerOp, sideBySide } from './measure.js';

async function openPair(remoted: boolean) {
  const cluster = createMockCluster();
  const engines = remoted ? cluster.engines.map(loopbackEngine) : cluster.engines;
  const a = engines[0]!.openSession();
  const b = engines[1]!.openSession();
  await a.open();
  await b.open();
  const target = await b.alloc({ size: 64 });
  const { key } = await b.exportBuffer({ buffer: target.buffer, access: 'write' });
  const source = await a.alloc({ size: 64 });
  const { channel } = await a.openChannel({ depth: 16 });
  const write = () => a.write({ channel, local: source.ref, remote: target.address, key });
  return { a, channel, write };
}

const native = await openPair(false);
const remoted = await openPair(true);

const rows: Array<[string, { a: number; b: number; ratio: number }]> = [];
rows.push([
  'query (control)',
  await sideBySide(
    () => native.a.query(),
    () => remoted.a.query(),
    2_000,
  ),
]);
rows.push([
  'alloc+free (control)',
  await sideBySide(
    async () => native.a.free({ buffer: (await native.a.alloc({ size: 64 })).buffer }),
    async () => remoted.a.free({ buffer: (await remoted.a.alloc({ size: 64 })).buffer }),
    1_000,
  ),
]);
rows.push([
  'write+poll (data)',
  await sideBySide(
    async () => {
      await native.write();
      await native.a.poll({ channel: native.channel });
    },
    async () => {
      await remoted.write();
      await remoted.a.poll({ channel: remoted.channel });
    },
    2_000,
  ),
]);

console.log(
  '\nDirect engine-mock call vs stub → loopback → dispatcher → engine-mock (median ns/op)',
);
console.log('call                    direct ns   remoted ns   ratio');
for (const [name, r] of rows) {
  console.log(
    `${name.padEnd(22)} ${r.a.toFixed(0).padStart(10)} ${r.b.toFixed(0).padStart(12)} ${r.ratio.toFixed(2).padStart(7)}x`,
  );
}

const write = unimemSpec.lookup('write')!;
const args = {
  channel: 3,
  local: { region: 1, offset: 4096, length: 65_536 },
  remote: 0x0001_0000_0000_2000n,
  key: 0xdeadbeef,
  fence: false,
};
const layout = write.argsLayout!;
const record = new DataView(new ArrayBuffer(layout.size));
const packr = new Packr({ useRecords: true, mapsAsObjects: true, structures: [] });
const codec = createCodec(unimemSpec);
const msgpack = await nsPerOp(() => packr.unpack(packr.pack(args)), 100_000);
const fixed = await nsPerOp(() => {
  layout.write(record, 0, args);
  return layout.read(record, 0);
}, 100_000);
const frame = await nsPerOp(() => codec.encodeRequest(write, 1, args), 100_000);
const zod = await nsPerOp(() => write.args.parse(args), 100_000);
console.log('\nwrite descriptor codec (encode + decode, median ns/op)');
console.log(`msgpackr (records)        ${msgpack.toFixed(0).padStart(6)}`);
console.log(
  `fixed layout (checked)    ${fixed.toFixed(0).padStart(6)}   ${(msgpack / fixed).toFixed(1)}x faster`,
);
console.log(
  `  for reference: encodeRequest (frame alloc + fixed layout) ${frame.toFixed(0)} ns, zod parse of the same args ${zod.toFixed(0)} ns`,
);
