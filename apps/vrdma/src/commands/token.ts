import { readFileSync } from 'node:fs';
import { MAX_TOKEN_LENGTH } from '@vrdma/api-spec';

/**
 * A guest's weight token, from a file or from VRDMA_GUEST_TOKEN: never from an argument, which
 * every user of the machine can read in the process list. Surrounding whitespace is dropped
 * (a file usually ends with a newline).
 */
export function readToken(file: string | undefined, env = process.env): string | undefined {
  const raw = file !== undefined ? readFileSync(file, 'utf8') : env.VRDMA_GUEST_TOKEN;
  if (raw === undefined) return undefined;
  const token = raw.trim();
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH)
    throw new Error(
      `a weight token holds 1 to ${MAX_TOKEN_LENGTH} characters${file ? ` (${file})` : ''}`,
    );
  return token;
}

/**
 * The fabric's shared secret, from a file or from VRDMA_FABRIC_SECRET (never an argument, for
 * the same reason as a token); undefined when neither is set (the cluster file may hold one).
 */
export function readFabricSecret(file: string | undefined, env = process.env): string | undefined {
  const raw = file !== undefined ? readFileSync(file, 'utf8') : env.VRDMA_FABRIC_SECRET;
  if (raw === undefined) return undefined;
  const secret = raw.trim();
  if (secret.length < 16)
    throw new Error(
      `a fabric secret holds at least 16 characters${file ? ` (${file})` : ' (VRDMA_FABRIC_SECRET)'}`,
    );
  return secret;
}
