import { type AttachedGuest, attachVmGuest, createVmMemory, type Host } from '@vrdma/backend';
import { type BootedVm, bootVm } from './boot-vm.js';
import type { GuestImage } from './guest-image.js';
import { proofPattern, VM_RESULT_TAG, type VmGuestResult } from './vm-result.js';

/** A VM's shared memory: a power of two for its BAR; the guest asks for 16 MiB of it. */
const VM_MEMORY_BYTES = 32 * 1024 * 1024;

export interface VmGuestRun {
  readonly name: string;
  readonly vm: BootedVm;
  /** The guest once attached to the host (rejects if the VM never attached). */
  readonly attached: Promise<AttachedGuest>;
  /**
   * Settles once the VM has finished: its result line, with what the host saw of it, or
   * undefined when the VM ended without one (killed, crashed).
   */
  readonly finished: Promise<VmGuestOutcome | undefined>;
  /** The host's own mapping of the guest's buffer memory in the VM. */
  readonly memory: Uint8Array;
}

export interface VmGuestOutcome {
  result: VmGuestResult;
  /** Milliseconds from QEMU's start to the guest's result line. */
  runMs: number;
  /** Seconds of the guest kernel's uptime when its init reached the program (its boot). */
  bootS?: number;
  /**
   * The host's own mapping of the VM's memory holds the pattern at the offset the guest named:
   * the engine wrote the VM's memory, no copy in between.
   */
  zeroCopySeenByHost: boolean;
}

export interface StartVmGuestOptions {
  name: string;
  qemu: string;
  image: GuestImage;
  /** Bytes per transfer of the example guest. */
  size: number;
  rounds?: number;
  /** Answers the guest's attach request only once this settles (default: at once). */
  attachAfter?: Promise<unknown>;
  /** How long the guest waits for the host's answers (default 30 s; more while held). */
  guestTimeoutMs?: number;
  onConsole?(name: string, line: string): void;
}

/**
 * Boots a VM running the example guest against `host`: makes its shared memory, boots QEMU
 * with it, attaches the guest when it asks on its port, and reads its result from the console.
 */
export async function startVmGuest(host: Host, options: StartVmGuestOptions): Promise<VmGuestRun> {
  const memory = createVmMemory(VM_MEMORY_BYTES, `vrdma-${options.name}`);
  const started = performance.now();
  let vm: BootedVm;
  let resolveResult: (line: string) => void = () => {};
  const resultLine = new Promise<string>((resolve) => {
    resolveResult = resolve;
  });
  let bootS: number | undefined;
  try {
    vm = await bootVm({
      name: options.name,
      qemu: options.qemu,
      image: options.image,
      memory,
      args: {
        label: options.name,
        size: options.size,
        rounds: options.rounds ?? 1,
        timeout: options.guestTimeoutMs ?? 30_000,
      },
      onConsole: (line) => {
        const booted = /vrdma-vm: booted in ([\d.]+) s/.exec(line);
        if (booted) bootS = Number(booted[1]);
        if (line.startsWith(VM_RESULT_TAG)) resolveResult(line.slice(VM_RESULT_TAG.length));
        options.onConsole?.(options.name, line);
      },
    });
  } finally {
    // QEMU has its own descriptor now (or failed); the host keeps only its mappings.
    memory.closeFd();
  }
  const attached = Promise.race([
    vm.port.then(async (port) => {
      await options.attachAfter;
      return attachVmGuest(host, { port, memory });
    }),
    vm.exited.then(({ code, signal }) => {
      throw new Error(
        `${options.name}: QEMU ended (${signal ?? `exit ${code}`}) before the guest attached`,
      );
    }),
  ]);
  attached.catch(() => {});
  const finished = Promise.race([
    resultLine.then((line): VmGuestOutcome => {
      const result = JSON.parse(line) as VmGuestResult;
      const { offset, length, seed } = result.proof;
      const seen = memory.regions.memory.bytes.subarray(offset, offset + length);
      return {
        result,
        runMs: performance.now() - started,
        bootS,
        zeroCopySeenByHost:
          seen.length === length && Buffer.compare(seen, proofPattern(seed, length)) === 0,
      };
    }),
    vm.exited.then(() => undefined),
  ]);
  return { name: options.name, vm, attached, finished, memory: memory.regions.memory.bytes };
}
