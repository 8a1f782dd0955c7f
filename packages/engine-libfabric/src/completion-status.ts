import type { CompletionStatus } from '@vrdma/unimem-api';

// fi_errno values (rdma/fi_errno.h) a failed RMA comes back with.
const FI_EPERM = 1;
const FI_EACCES = 13;
const FI_EKEYREJECTED = 129;
const FI_ENOKEY = 126;

/**
 * A libfabric completion error as a Unimem status. Keys and ranges are checked before a
 * transfer is posted, so an access error here means the owner revoked a key under it; every
 * other error (connection reset, canceled by a torn-down connection, unreachable host) means
 * the transfer cannot finish because of the peer: 'node-down'.
 */
export function statusOfErrno(errno: number): CompletionStatus {
  if (errno === 0) return 'ok';
  if (errno === FI_EACCES || errno === FI_EPERM || errno === FI_ENOKEY || errno === FI_EKEYREJECTED)
    return 'no-permission';
  return 'node-down';
}
