import type { Socket } from 'node:net';
import {
  type AttachRequest,
  attachRequestSchema,
  summariseIssues,
  type VmWelcome,
  VrdmaError,
} from '@vrdma/api-spec';
import type { AttachedGuest, Host } from '../host.js';
import { processGuestTransports } from './process-guest-transports.js';
import { readFirstLine } from './read-line.js';
import type { VmMemory } from './vm-memory.js';

export interface AttachVmGuestOptions {
  /** The host's end of the VM's virtio-serial port (QEMU's socket chardev), connected. */
  port: Socket;
  /** The VM's shared-memory device, the backing of its ivshmem BAR. */
  memory: VmMemory;
  /** How long the guest may take to send its attach request (default: no limit: a VM boots slowly). */
  attachTimeoutMs?: number;
}

/**
 * Serves a guest inside a virtual machine: waits for its attach request on the port, answers
 * with where its regions lie in the shared-memory device (vm-attach-protocol in
 * @vrdma/api-spec), then attaches it to `host` with every doorbell a byte on the port, as a
 * process guest's are on its socket. The port closing (QEMU gone, killed or not) is the guest
 * leaving. A request the host cannot take is answered with a refusal line and rejects with a
 * typed error.
 */
export async function attachVmGuest(
  host: Host,
  options: AttachVmGuestOptions,
): Promise<AttachedGuest> {
  const { port, memory } = options;
  port.on('error', () => port.destroy());
  const timer =
    options.attachTimeoutMs === undefined
      ? undefined
      : setTimeout(() => port.destroy(), options.attachTimeoutMs);
  let line: string;
  let rest: Buffer;
  try {
    ({ line, rest } = await readFirstLine(port));
  } catch (error) {
    port.destroy();
    throw new VrdmaError('DISCONNECTED', 'the VM left before attaching', { cause: error });
  } finally {
    clearTimeout(timer);
  }
  const request = parseAttach(line);
  if (typeof request === 'string') return refuse(port, `bad attach request: ${request}`);
  const { control, data, memory: buffers } = memory.windows;
  if (request.memoryBytes > buffers.size)
    return refuse(
      port,
      `${request.memoryBytes} bytes of memory asked for; this VM's device holds ${buffers.size}`,
    );
  const transports = processGuestTransports(port, {
    control: memory.regions.control,
    data: memory.regions.data,
    shape: memory.shape,
  });
  const welcome: VmWelcome = {
    type: 'welcome',
    control,
    data,
    memory: request.memoryBytes > 0 ? buffers : null,
  };
  port.write(`${JSON.stringify(welcome)}\n`);
  const guest = host.attach({
    label: request.label,
    control: transports.control,
    data: transports.data,
    memory: request.memoryBytes > 0 ? memory.regions.memory : undefined,
  });
  void guest.departed.then(() => port.destroy());
  if (rest.length > 0) port.emit('data', rest);
  return guest;
}

function refuse(port: Socket, message: string): never {
  port.end(`${JSON.stringify({ type: 'error', message })}\n`);
  throw new VrdmaError('INVALID_ARGUMENT', message);
}

function parseAttach(line: string): Extract<AttachRequest, { type: 'attach' }> | string {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return 'the first line is not JSON';
  }
  const parsed = attachRequestSchema.safeParse(json);
  if (!parsed.success) return summariseIssues(parsed.error);
  if (parsed.data.type !== 'attach') return 'a VM port takes only an attach request';
  return parsed.data;
}
