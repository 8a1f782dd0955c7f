import type { BufferRef } from '@vrdma/api-spec';
import { MAX_REGION_BYTES, MAX_WIDE_CAPABILITY, VrdmaError } from '@vrdma/api-spec';
import { MAX_COMPLETIONS } from './spec.js';

/**
 * Hand-written checks for the data-plane calls: the spec's schemas, without zod in the hot
 * path. Anything an application (or a guest) passes is checked before the engine uses it.
 * Every Unimem engine runs these, so all of them accept exactly what the spec does.
 */

const U32 = 0xffff_ffff;
const U64 = (1n << 64n) - 1n;

function isIntIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

function invalid(fn: string, what: string): never {
  throw new VrdmaError('INVALID_ARGUMENT', `${fn}: ${what}`);
}

export interface TransferArgs {
  channel: number;
  local: BufferRef;
  remote: bigint;
  key: number;
  fence: boolean;
}

export function checkTransferArgs(fn: string, raw: unknown): TransferArgs {
  if (typeof raw !== 'object' || raw === null) invalid(fn, 'expected an object');
  const { channel, local, remote, key, fence } = raw as Record<string, unknown>;
  if (!isIntIn(channel, 1, U32)) invalid(fn, 'channel must be a handle');
  if (typeof local !== 'object' || local === null) invalid(fn, 'local must be a buffer reference');
  const { region, offset, length } = local as Record<string, unknown>;
  if (
    !isIntIn(region, 0, U32) ||
    !isIntIn(offset, 0, MAX_REGION_BYTES) ||
    !isIntIn(length, 0, U32)
  ) {
    invalid(fn, 'local must be { region, offset, length } of unsigned integers');
  }
  if (typeof remote !== 'bigint' || remote < 0n || remote > U64)
    invalid(fn, 'remote must be a 64-bit global address');
  if (!isIntIn(key, 0, MAX_WIDE_CAPABILITY))
    invalid(fn, 'key must be an unsigned integer of at most 53 bits');
  if (fence !== undefined && typeof fence !== 'boolean') invalid(fn, 'fence must be a boolean');
  return { channel, local: { region, offset, length }, remote, key, fence: fence === true };
}

export interface ReapArgs {
  channel: number;
  max: number;
  timeoutMs: number;
}

export function checkReapArgs(fn: string, raw: unknown): ReapArgs {
  if (typeof raw !== 'object' || raw === null) invalid(fn, 'expected an object');
  const { channel, max, timeoutMs } = raw as Record<string, unknown>;
  if (!isIntIn(channel, 1, U32)) invalid(fn, 'channel must be a handle');
  if (max !== undefined && !isIntIn(max, 1, MAX_COMPLETIONS))
    invalid(fn, `max must be 1..${MAX_COMPLETIONS}`);
  if (timeoutMs !== undefined && !isIntIn(timeoutMs, 0, 600_000))
    invalid(fn, 'timeoutMs must be 0..600000');
  return {
    channel,
    max: (max as number | undefined) ?? MAX_COMPLETIONS,
    timeoutMs: (timeoutMs as number | undefined) ?? 1_000,
  };
}
