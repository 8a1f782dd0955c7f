import { createRequire } from 'node:module';
import { VrdmaError } from '@vrdma/api-spec';

/** An opened fabric, domain, RDM endpoint, address vector and completion queue. */
export type NativeEndpoint = { readonly __brand: 'NativeEndpoint' };
/** One memory registration (fi_mr_reg); closing it revokes every key it carries. */
export type NativeRegistration = { readonly __brand: 'NativeRegistration' };

export interface OpenedEndpoint {
  endpoint: NativeEndpoint;
  /** fi_getname: what a peer passes to fi_av_insert to reach this endpoint. */
  name: Buffer;
  /** The completion queue's wait fd (FI_WAIT_FD), watched by libuv. */
  waitFd: number;
  /** The provider libfabric chose, e.g. `tcp;ofi_rxm` or `shm`. */
  provider: string;
  domain: string;
  maxMessage: number;
}

/**
 * The add-on's functions (native/vrdma_libfabric.c). A libfabric failure throws an `Error`
 * whose `code` is `FI_<errno>` and whose message is fi_strerror's.
 */
export interface NativeLibfabric {
  open(provider: string): OpenedEndpoint;
  close(endpoint: NativeEndpoint): void;
  insertAddress(endpoint: NativeEndpoint, name: Buffer): number;
  /** A peer went away: over shm, its region file is removed once its process is gone. */
  forgetAddress(endpoint: NativeEndpoint, fiAddr: number): void;
  /** `access`: 1 remote read, 2 remote write, 3 both; `key` is the MR key requested. */
  register(
    endpoint: NativeEndpoint,
    bytes: Uint8Array,
    access: number,
    key: number,
  ): NativeRegistration;
  deregister(registration: NativeRegistration): void;
  /** fi_write or fi_read; 0 when posted, -FI_EAGAIN (-11) when the provider is full. */
  post(
    endpoint: NativeEndpoint,
    isRead: boolean,
    local: Uint8Array,
    fiAddr: number,
    remoteOffset: number,
    key: number,
    id: number,
  ): number;
  /** Completions so far, flat: id, errno (0 = success), id, errno, ... */
  drain(endpoint: NativeEndpoint): number[];
  /** fi_trywait: true when the loop may sleep on the wait fd. */
  trywait(endpoint: NativeEndpoint): boolean;
  /** Calls `onReadable` from libuv whenever the wait fd is readable. */
  watch(endpoint: NativeEndpoint, onReadable: () => void): void;
  /** Whether the watch keeps the process alive (an idle engine should not). */
  refWatch(endpoint: NativeEndpoint, ref: boolean): void;
  /** The libfabric version loaded, e.g. `1.17`. */
  version(): string;
}

/** Set to another path to load the add-on from there (tests simulate a missing libfabric). */
export const ADDON_PATH_VARIABLE = 'VRDMA_LIBFABRIC_ADDON';
const ADDON_PATH = '../build/Release/vrdma_libfabric.node';

/** The one line a user without libfabric reads. */
export const MISSING_LIBFABRIC =
  'engine-libfabric needs libfabric: install it (Debian: apt-get install libfabric-dev), ' +
  'then run `npm rebuild @vrdma/engine-libfabric`';

let addon: NativeLibfabric | undefined;

/**
 * Loads the add-on on first use only, so the package imports on a machine without libfabric
 * and only using the engine fails, with one line that says what to install.
 */
export function nativeLibfabric(): NativeLibfabric {
  addon ??= loadLibfabricAddon(process.env[ADDON_PATH_VARIABLE] ?? ADDON_PATH);
  return addon;
}

/** Loads the add-on at `path` (relative to this module), or says what is missing. */
export function loadLibfabricAddon(path: string): NativeLibfabric {
  try {
    return createRequire(import.meta.url)(path) as NativeLibfabric;
  } catch (error) {
    throw new VrdmaError('TRANSPORT', MISSING_LIBFABRIC, { cause: error });
  }
}
