/**
 * The program a VM guest runs at boot (bundled into its initramfs): the example guest of
 * `vrdma guest`, the same application code, attached through the VM's devices instead of a
 * socket. Its arguments come on the kernel command line (`vrdma.label=vm-1 vrdma.size=…`);
 * it speaks on the serial console, each result a line starting with VM_RESULT_TAG.
 */
import { readFileSync } from 'node:fs';
import { connectFromVm, whenVirtioPortsIdle } from '@vrdma/frontend';
import { unimemSession, unimemSpec } from '@vrdma/unimem-api';
import { writeAndReadBack } from '../commands/guest.js';
import { transportCounters } from '../compose/transport-counters.js';
import { VM_RESULT_TAG, type VmGuestResult } from './vm-result.js';
import { proveZeroCopy } from './zero-copy-proof.js';

const args = Object.fromEntries(
  readFileSync('/proc/cmdline', 'utf8')
    .trim()
    .split(/\s+/)
    .filter((word) => word.startsWith('vrdma.'))
    .map((word) => {
      const [key, value] = word.slice('vrdma.'.length).split('=', 2);
      return [key!, value ?? ''];
    }),
);
const label = args.label ?? 'vm';
const size = Number(args.size ?? 65536);
const rounds = Number(args.rounds ?? 1);
const out = {
  line: (text: string) => console.log(text),
  note: (text: string) => console.error(text),
};

const started = performance.now();
let code = 1;
try {
  const device = unimemSession(
    await connectFromVm({
      spec: unimemSpec,
      label,
      memoryBytes: Number(args.memory ?? 16 << 20),
      timeoutMs: Number(args.timeout ?? 30_000),
    }),
  );
  await device.open();
  const attachedMs = performance.now() - started;
  const info = await device.query();
  out.line(
    `guest ${label}: attached from a VM as guest ${device.connection.guest}, node ${info.node}`,
  );
  code = await writeAndReadBack(device, { label, size, rounds }, out);
  const proof = await proveZeroCopy(device, label, size);
  const counters = transportCounters(device.connection);
  const result: VmGuestResult = {
    label,
    ok: code === 0 && proof.sameInGuest,
    size,
    rounds,
    attachedMs,
    kicks: { control: counters.control.doorbells, data: counters.data.doorbells },
    messages: { control: counters.control.messages, data: counters.data.messages },
    proof,
  };
  out.line(`${VM_RESULT_TAG}${JSON.stringify(result)}`);
  await device.dispose();
} catch (error) {
  out.line(`guest ${label}: ${error instanceof Error ? error.message : String(error)}`);
}
// Node's exit waits for the port's last read, which ends when the host closes its end.
if (!(await whenVirtioPortsIdle(10_000))) {
  out.line(`guest ${label}: the host never closed the port; ending hard`);
  process.kill(process.pid, 'SIGKILL');
}
process.exit(code);
