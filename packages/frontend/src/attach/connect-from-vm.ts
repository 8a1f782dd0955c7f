import { closeSync, openSync } from 'node:fs';
import {
  type ApiSpec,
  ATTACH_PROTOCOL_VERSION,
  type AttachRequest,
  attachRefusalSchema,
  MAX_ATTACH_LINE,
  type Region,
  type VmWelcome,
  VrdmaError,
  vmWelcomeSchema,
} from '@vrdma/api-spec';
import { mapWindows } from '@vrdma/memory';
import { type Connection, type ConnectOptions, connect } from '../connect.js';
import { processHostTransports } from './guest-transports.js';
import { VirtioPort } from './virtio-port.js';
import { findIvshmemBar, findVirtioPort } from './vm-devices.js';

export interface ConnectFromVmOptions<S extends ApiSpec>
  extends Omit<ConnectOptions<S>, 'control' | 'data' | 'memory'> {
  /** The virtio-serial port to the host (default: the one named org.vrdma.doorbell). */
  port?: string;
  /** The ivshmem BAR to map (default: the VM's one ivshmem device's resource2 in sysfs). */
  bar?: string;
  /** Bytes of shared memory to ask for (default: 16 MiB for a spec with buffers, else none). */
  memoryBytes?: number;
}

const DEFAULT_MEMORY = 16 * 1024 * 1024;

/**
 * From inside a virtual machine the vrdma host booted: attaches over the VM's virtio-serial
 * port, maps the windows of its ivshmem device that the host names (virtqueue, data-plane
 * channel, buffers) and connects the API over them. Everything after this step is what a
 * process guest does: the same `Connection`, the same application code. Fails with
 * DISCONNECTED when the devices are missing or the host goes away, TRANSPORT when it refuses.
 */
export async function connectFromVm<S extends ApiSpec>(
  options: ConnectFromVmOptions<S>,
): Promise<Connection<S>> {
  const { spec } = options;
  const memoryBytes = options.memoryBytes ?? (spec.resources.usesBuffers ? DEFAULT_MEMORY : 0);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const bar = options.bar ?? findIvshmemBar();
  const port = new VirtioPort(options.port ?? findVirtioPort());
  try {
    const request: AttachRequest = {
      type: 'attach',
      version: ATTACH_PROTOCOL_VERSION,
      label: options.label ?? 'vm',
      memoryBytes,
    };
    const answer = readLine(port, timeoutMs);
    port.write(`${JSON.stringify(request)}\n`);
    const { line, rest } = await answer;
    const welcome = parseWelcome(line);
    const regions = mapBar(bar, welcome);
    const transports = processHostTransports(port, regions);
    if (rest.length > 0) port.emit('data', rest);
    return await connect({
      ...options,
      timeoutMs,
      control: transports.control,
      data: transports.data,
      memory: regions.memory,
    });
  } catch (error) {
    port.destroy();
    throw error;
  }
}

function mapBar(
  bar: string,
  welcome: VmWelcome,
): { control: Region; data: Region; memory: Region | undefined } {
  let fd: number;
  try {
    fd = openSync(bar, 'r+');
  } catch (error) {
    throw new VrdmaError('DISCONNECTED', `cannot open the shared-memory device ${bar}`, {
      cause: error,
    });
  }
  try {
    const windows = [welcome.control, welcome.data, ...(welcome.memory ? [welcome.memory] : [])];
    const [control, data, memory] = mapWindows(fd, windows);
    return { control: control!, data: data!, memory };
  } finally {
    // The mappings outlive the descriptor.
    closeSync(fd);
  }
}

function parseWelcome(line: string): VmWelcome {
  let answer: unknown;
  try {
    answer = JSON.parse(line);
  } catch (error) {
    throw new VrdmaError('TRANSPORT', 'the host answered with something other than JSON', {
      cause: error,
    });
  }
  const refused = attachRefusalSchema.safeParse(answer);
  if (refused.success)
    throw new VrdmaError('TRANSPORT', `the host refused: ${refused.data.message}`);
  const welcome = vmWelcomeSchema.safeParse(answer);
  if (!welcome.success) throw new VrdmaError('TRANSPORT', 'the host sent a malformed welcome');
  return welcome.data;
}

/** The host's first line on the port, and whatever came after it. */
function readLine(port: VirtioPort, timeoutMs: number): Promise<{ line: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(
      () => finish(new VrdmaError('TIMEOUT', `the host did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onData = (chunk: Uint8Array) => {
      buffered = Buffer.concat([buffered, chunk]);
      const newline = buffered.indexOf(0x0a);
      if (newline >= 0)
        return finish(undefined, {
          line: buffered.subarray(0, newline).toString('utf8'),
          rest: buffered.subarray(newline + 1),
        });
      if (buffered.length > MAX_ATTACH_LINE)
        finish(new VrdmaError('TRANSPORT', 'the host answered with an overlong line'));
    };
    const onClose = () =>
      finish(new VrdmaError('DISCONNECTED', 'the host closed the port before answering'));
    const finish = (error?: Error, value?: { line: string; rest: Buffer }) => {
      clearTimeout(timer);
      port.off('data', onData);
      port.off('close', onClose);
      if (error) reject(error);
      else resolve(value!);
    };
    port.on('data', onData);
    port.on('close', onClose);
  });
}
