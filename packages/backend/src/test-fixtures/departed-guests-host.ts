/**
 * A host process for the departed-guests test, run with --expose-gc: it listens on argv[2],
 * lets argv[3] guest processes attach one after another and crash (SIGKILL), keeping every
 * guest's AttachedGuest handle as callers do (to read `departed`), then collects garbage until
 * its mappings of guest memfds are back to what they were before the first guest, or argv[4]
 * ms passed. It prints one JSON line of mapping counts: { baseline, oneGuest, after } (oneGuest:
 * with the first guest attached).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ATTACH_PROTOCOL_VERSION } from '@vrdma/api-spec';
import { createMockCluster } from '@vrdma/engine-mock';
import { unimemSpec } from '@vrdma/unimem-api';
import { listen } from '../attach/listen.js';
import { type AttachedGuest, createHost } from '../host.js';
import { service } from '../service.js';
import { fail } from './guest-rounds.js';

/**
 * A guest process that speaks only the attach protocol: asks for memory, says `welcomed` on
 * stdout once the host sent its regions, then waits to be killed. No tsx: it starts fast.
 */
const GUEST = `
const socket = require('node:net').createConnection(process.argv[1], () => {
  socket.write(JSON.stringify({ type: 'attach', version: ${ATTACH_PROTOCOL_VERSION}, label: process.argv[2], memoryBytes: 1 << 20 }) + '\\n');
});
let text = '';
socket.on('data', (chunk) => {
  text += chunk;
  if (text.includes('\\n')) process.stdout.write(text.startsWith('{"type":"welcome"') ? 'welcomed\\n' : text);
});
`;

/** This process's mappings of memfds the host made for guests (memory, virtqueue, ring). */
function guestMappings(): number {
  return readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((line) => line.includes('memfd:vrdma')).length;
}

const gc = (globalThis as { gc?: () => void }).gc;
const [path, count, patienceMs] = process.argv.slice(2);
try {
  if (!gc) throw new Error('run me with --expose-gc');
  const host = createHost({
    services: [service(unimemSpec, createMockCluster({ nodes: [0] }).engine(0))],
  });
  const handles: AttachedGuest[] = [];
  const listener = await listen(host, { path: path!, onAttach: (guest) => handles.push(guest) });
  const baseline = guestMappings();
  let oneGuest = 0;
  for (let i = 0; i < Number(count); i++) {
    const child = spawn(process.execPath, ['-e', GUEST, path!, `g${i}`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const said = await new Promise<string>((resolve) => {
      let text = '';
      child.stdout.on('data', (chunk) => {
        text += chunk;
        if (text.includes('\n')) resolve(text.trim());
      });
      child.once('close', () => resolve(text.trim() || 'nothing'));
    });
    if (said !== 'welcomed') throw new Error(`guest g${i} said ${said}`);
    if (i === 0) oneGuest = guestMappings();
    child.kill('SIGKILL');
    await handles[i]!.departed;
  }
  if (host.guests().length > 0) throw new Error('a guest that crashed is still listed');
  // The handles stay reachable: only what they pin keeps the mappings.
  const deadline = Date.now() + Number(patienceMs);
  while (guestMappings() > baseline && Date.now() < deadline) {
    gc();
    await sleep(50);
  }
  const after = guestMappings();
  process.stdout.write(`${JSON.stringify({ baseline, oneGuest, after })}\n`);
  await listener.close();
  await host.close();
  process.exit(0);
} catch (error) {
  fail(error);
}
