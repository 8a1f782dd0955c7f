import {
  bufferRef,
  defineApi,
  FRAMEWORK_ERROR_CODES,
  handle,
  MAX_WIDE_CAPABILITY,
  type VrdmaError,
} from '@vrdma/api-spec';
import { z } from 'zod';

/**
 * Most completions one `pollCq` or `waitCq` returns. Eight keep a completion frame (header,
 * count and eight fixed-layout work completions) inside one 256-byte slot of the guest's
 * completion ring; `spec.test.ts` checks it.
 */
export const MAX_POLL = 8;

const u32 = z.number().int().min(0).max(0xffff_ffff);
/**
 * A remote key: 53 bits (exact in a JS number), as Unimem's keys are since they were widened,
 * so that guessing one is out of reach of a guest with the host's denial budget.
 */
const remoteKey = z.number().int().min(0).max(MAX_WIDE_CAPABILITY);
const u64 = z
  .bigint()
  .min(0n)
  .max((1n << 64n) - 1n);

/**
 * How a work request ended: the `ibv_wc_status` values an application meets on this subset,
 * plus 'refused' for a remoted post the host turned down before it reached the engine.
 */
export const wcStatus = z.enum([
  /** IBV_WC_SUCCESS. */
  'success',
  /** IBV_WC_LOC_LEN_ERR: a receive buffer shorter than the message sent into it. */
  'local-length-error',
  /** IBV_WC_LOC_QP_OP_ERR: the queue pair's state cannot carry this work request (e.g. a send before RTS). */
  'local-qp-operation-error',
  /**
   * IBV_WC_LOC_PROT_ERR: the local buffer is not inside a live memory region of the `lkey`
   * given, the region belongs to another protection domain, or lacks local write for a receive
   * or an RDMA READ.
   */
  'local-protection-error',
  /** IBV_WC_WR_FLUSH_ERR: the queue pair went to the error state before the request ran. */
  'work-request-flushed',
  /** IBV_WC_REM_INV_REQ_ERR: the responder could not take the message (its receive buffer too short). */
  'remote-invalid-request-error',
  /**
   * IBV_WC_REM_ACCESS_ERR: the `rkey` does not grant the access (wrong key, deregistered
   * region, no remote access flag) or the remote range is outside its region.
   */
  'remote-access-error',
  /** IBV_WC_RETRY_EXC_ERR: no responder: the remote queue pair does not exist or its node is down. */
  'retry-exceeded',
  /** IBV_WC_GENERAL_ERR: anything else the engine could not do. */
  'general-error',
  /** Remoted only: the host refused the post before it reached the engine; `error` says why. */
  'refused',
]);
export type WcStatus = z.infer<typeof wcStatus>;

/** What a work completion completed (`ibv_wc_opcode`). */
export const wcOpcode = z.enum(['send', 'rdma-write', 'rdma-read', 'recv']);
export type WcOpcode = z.infer<typeof wcOpcode>;

/** Queue pair states (`ibv_qp_state`) of a reliable-connected queue pair. */
export const qpState = z.enum(['reset', 'init', 'rtr', 'rts', 'error']);
export type QpState = z.infer<typeof qpState>;

/** Every error code of the verbs API, its own and the framework's. */
const VERBS_ERRORS = [
  'NOT_OPEN',
  'ALREADY_OPEN',
  'NO_MEMORY',
  'LIMIT_REACHED',
  'BUSY',
  'TOO_LONG',
  'BAD_QP_STATE',
  'CQ_FULL',
  'QUEUE_FULL',
  'WRONG_CQ',
] as const;
const errorCode = z.enum([...VERBS_ERRORS, ...FRAMEWORK_ERROR_CODES]);

/** One work completion (`ibv_wc`). Fixed layout: 30 bytes. */
const workCompletion = z.object({
  /** The post id `postSend` or `postRecv` returned. */
  post: u32,
  /** The caller's work-request id, as posted (0 when the host refused the post). */
  wrId: u64,
  status: wcStatus,
  opcode: wcOpcode,
  /** Bytes moved: for a receive, the length of the message received (0 unless 'success'). */
  byteLen: u32,
  /** The number of the local queue pair the request was posted to (0 when refused). */
  qpNum: u32,
  /** Set when status is 'refused': the error the call would have thrown natively. */
  error: errorCode.optional(),
});
export type WorkCompletion = z.infer<typeof workCompletion>;

const limits = z.object({
  /** Largest message or RDMA transfer, in bytes (`max_msg_sz`). */
  maxMessage: u32.min(1),
  /** Largest completion queue (`max_cqe`). */
  maxCqe: z.number().int().min(1).max(0xffff),
  /** Largest send or receive queue of a queue pair (`max_qp_wr`). */
  maxQpWr: z.number().int().min(1).max(0xffff),
  /** Queue pairs a session may have (`max_qp`). */
  maxQp: z.number().int().min(1).max(0xffff),
  /** Memory regions a session may have (`max_mr`). */
  maxMr: z.number().int().min(1).max(0xffff),
});

const deviceAttributes = z.object({
  /** The node of this device: what a peer puts in `modifyQp`'s `remote.node` (a LID's role). */
  node: z.number().int().min(0).max(0xffff),
  /** Nodes of the fabric reachable now, this one included. */
  nodes: z.array(z.number().int().min(0).max(0xffff)),
  limits,
});
export type DeviceAttributes = z.infer<typeof deviceAttributes>;

/** `ibv_access_flags` that matter here. Local read is always granted. */
const accessFlags = z.object({
  localWrite: z.boolean().default(false),
  remoteWrite: z.boolean().default(false),
  remoteRead: z.boolean().default(false),
});
export type AccessFlags = z.input<typeof accessFlags>;

/** The other end of a connected queue pair, exchanged out of band as applications do. */
const remoteEnd = z.object({
  node: z.number().int().min(0).max(0xffff),
  qpNum: u32,
});
export type RemoteEnd = z.infer<typeof remoteEnd>;

const postResult = z.object({
  /** Identifies the work request in its completion (the framework's token). */
  post: u32,
});

const pollResult = z.object({ completions: z.array(workCompletion).max(MAX_POLL) });

/**
 * The InfiniBand verbs model as applications know it from libibverbs, reduced to a useful
 * subset: one device per node, protection domains, memory regions with local and remote keys,
 * completion queues, reliable-connected queue pairs moved RESET → INIT → RTR → RTS, SEND and
 * RECEIVE, RDMA WRITE and RDMA READ, and work completions with verbs statuses.
 *
 * Two departures from libibverbs, both for the remoting: memory regions are allocated by the
 * device in memory the caller sees (`regMr` allocates and registers, as a driver hands out
 * DMA-able memory), and a post names the completion queue it reports to (the queue pair's send
 * or receive CQ, checked: WRONG_CQ), so a remoted post goes to that queue's ring untouched.
 *
 * What the caller's own call gets wrong (a handle, a queue full, a CQ that is not the QP's)
 * fails the call; what verbs reports per work request (protection, state, remote access,
 * flush) ends in its work completion, the same natively and remoted.
 */
export const verbsSpec = defineApi({
  name: 'verbs',
  version: 1,
  errors: VERBS_ERRORS,
  // Queue pairs go first (they use regions and CQs); regions before their protection domain.
  handles: {
    Qp: { release: 'destroyQp' },
    Cq: { release: 'destroyCq', releasedAfter: ['Qp'] },
    Mr: { release: 'deregMr', bytes: 'length', releasedAfter: ['Qp'] },
    Pd: { release: 'deallocPd', releasedAfter: ['Qp', 'Mr'] },
  },
  completionQueues: {
    Cq: {
      token: 'post',
      capacity: { field: 'cqe', refusal: 'CQ_FULL' },
      refused: (post: number, error: VrdmaError) => ({
        post,
        wrId: 0n,
        status: 'refused',
        opcode: 'send',
        byteLen: 0,
        qpNum: 0,
        error: error.code,
      }),
      // A wrong rkey or range: the host counts it against the guest, as a failed key check.
      denied: (entry) => entry.status === 'remote-access-error',
    },
  },
  functions: {
    /**
     * `ibv_open_device`: attaches the caller to the device of its node. Every other call needs
     * an open device (NOT_OPEN).
     * @returns the node (the address a peer connects to), the reachable nodes and the limits.
     */
    open: { plane: 'control', args: {}, result: deviceAttributes, errors: ['ALREADY_OPEN'] },
    /**
     * `ibv_close_device`: releases everything the caller holds, queue pairs first (their
     * unfinished work requests are dropped), then CQs, regions and protection domains.
     */
    close: {
      plane: 'control',
      args: {},
      result: z.void(),
      errors: ['NOT_OPEN'],
      releases: 'all',
    },
    /** `ibv_query_device`: what `open` returned. */
    query: { plane: 'control', args: {}, result: deviceAttributes, errors: ['NOT_OPEN'] },
    /** `ibv_alloc_pd`: a protection domain; regions and queue pairs are usable together only within one. */
    allocPd: {
      plane: 'control',
      args: {},
      result: z.object({ pd: handle('Pd') }),
      errors: ['NOT_OPEN', 'LIMIT_REACHED'],
    },
    /** `ibv_dealloc_pd`: BUSY while a region or a queue pair still uses it. */
    deallocPd: {
      plane: 'control',
      args: { pd: handle('Pd') },
      result: z.void(),
      errors: ['NOT_OPEN', 'BUSY'],
    },
    /**
     * `ibv_reg_mr` over device memory: allocates `length` bytes the caller can see (`ref`, for
     * `view`) and registers them in `pd` with `access`.
     * @returns the region, where it lives, the address remote peers name it by (`address`, for
     *   RDMA), its local key (for posts on this side) and its remote key (for peers; it grants
     *   nothing without a remote access flag).
     */
    regMr: {
      plane: 'control',
      args: {
        pd: handle('Pd'),
        length: z.number().int().min(1).max(0xffff_ffff),
        access: accessFlags.default({ localWrite: false, remoteWrite: false, remoteRead: false }),
      },
      result: z.object({
        mr: handle('Mr'),
        ref: bufferRef(),
        address: u64,
        length: u32,
        lkey: u32,
        rkey: remoteKey,
      }),
      errors: ['NOT_OPEN', 'NO_MEMORY', 'TOO_LONG', 'LIMIT_REACHED'],
    },
    /**
     * `ibv_dereg_mr`: the keys stop working at once: a later post naming the `lkey` ends
     * 'local-protection-error', a peer's RDMA naming the `rkey` 'remote-access-error'. BUSY
     * while a transfer is under way in the region.
     */
    deregMr: {
      plane: 'control',
      args: { mr: handle('Mr') },
      result: z.void(),
      errors: ['NOT_OPEN', 'BUSY'],
    },
    /**
     * `ibv_create_cq`: a completion queue of `cqe` entries. Posts whose completion has not been
     * polled yet count against it; one more fails CQ_FULL at once (nothing is posted).
     */
    createCq: {
      plane: 'control',
      args: { cqe: z.number().int().min(1).max(0xffff) },
      result: z.object({ cq: handle('Cq'), cqe: z.number().int().min(1).max(0xffff) }),
      errors: ['NOT_OPEN', 'LIMIT_REACHED', 'TOO_LONG'],
    },
    /** `ibv_destroy_cq`: BUSY while a queue pair uses it. */
    destroyCq: {
      plane: 'control',
      args: { cq: handle('Cq') },
      result: z.void(),
      errors: ['NOT_OPEN', 'BUSY'],
    },
    /**
     * `ibv_create_qp` of type RC: a reliable-connected queue pair in `pd`, in state RESET,
     * reporting to `sendCq` and `recvCq` (they may be the same CQ).
     * @returns the queue pair and its number, which the peer needs to connect to it.
     */
    createQp: {
      plane: 'control',
      args: {
        pd: handle('Pd'),
        sendCq: handle('Cq'),
        recvCq: handle('Cq'),
        maxSendWr: z.number().int().min(1).max(0xffff).default(64),
        maxRecvWr: z.number().int().min(1).max(0xffff).default(64),
      },
      result: z.object({ qp: handle('Qp'), qpNum: u32 }),
      errors: ['NOT_OPEN', 'LIMIT_REACHED', 'TOO_LONG'],
    },
    /**
     * `ibv_modify_qp`: RESET → INIT → RTR (with `remote`: the peer's node and queue pair
     * number, exchanged out of band) → RTS; any state → ERROR (pending work requests complete
     * 'work-request-flushed') or RESET (they are dropped). Any other move: BAD_QP_STATE.
     */
    modifyQp: {
      plane: 'control',
      args: { qp: handle('Qp'), state: qpState, remote: remoteEnd.optional() },
      result: z.void(),
      errors: ['NOT_OPEN', 'BAD_QP_STATE'],
    },
    /** `ibv_query_qp`: its state, its number and the peer it is connected to. */
    queryQp: {
      plane: 'control',
      args: { qp: handle('Qp') },
      result: z.object({ state: qpState, qpNum: u32, remote: remoteEnd.optional() }),
      errors: ['NOT_OPEN'],
    },
    /** `ibv_destroy_qp`: pending work requests complete 'work-request-flushed' on their CQs. */
    destroyQp: {
      plane: 'control',
      args: { qp: handle('Qp') },
      result: z.void(),
      errors: ['NOT_OPEN'],
    },
    /**
     * `ibv_post_send` of one work request, signalled. `opcode` 'send' moves `local` into the
     * peer's next posted receive; 'rdma-write' and 'rdma-read' move `local.length` bytes to or
     * from `remoteAddress` of a peer's region whose `rkey` grants it. `local` must lie in the
     * region of `lkey`, of the queue pair's protection domain. Work requests of a queue pair
     * run in order; a failed one moves the queue pair to ERROR, flushing the rest.
     * Fails at once with WRONG_CQ (not the queue pair's send CQ), QUEUE_FULL (`maxSendWr`
     * outstanding), CQ_FULL.
     */
    postSend: {
      plane: 'data',
      posted: { queue: 'cq' },
      args: {
        /** The queue pair's send CQ: where the completion goes. */
        cq: handle('Cq'),
        qp: handle('Qp'),
        wrId: u64.default(0n),
        opcode: z.enum(['send', 'rdma-write', 'rdma-read']),
        /** The local bytes (one scatter/gather element): a reference into one of the caller's regions. */
        local: bufferRef(),
        lkey: u32,
        /** RDMA only: where in the peer's memory (its region's `address` plus an offset). */
        remoteAddress: u64.default(0n),
        /** RDMA only: the peer region's remote key. */
        rkey: remoteKey.default(0),
      },
      result: postResult,
      errors: ['NOT_OPEN', 'WRONG_CQ', 'QUEUE_FULL', 'CQ_FULL', 'TOO_LONG'],
    },
    /**
     * `ibv_post_recv` of one work request: `local` (in the region of `lkey`, which needs local
     * write) takes the next message the peer sends. Fails at once with WRONG_CQ (not the queue
     * pair's receive CQ), QUEUE_FULL (`maxRecvWr` outstanding), CQ_FULL.
     */
    postRecv: {
      plane: 'data',
      posted: { queue: 'cq' },
      args: {
        /** The queue pair's receive CQ. */
        cq: handle('Cq'),
        qp: handle('Qp'),
        wrId: u64.default(0n),
        local: bufferRef(),
        lkey: u32,
      },
      result: postResult,
      errors: ['NOT_OPEN', 'WRONG_CQ', 'QUEUE_FULL', 'CQ_FULL', 'TOO_LONG'],
    },
    /** `ibv_poll_cq`: up to `max` work completions, oldest first; never waits. */
    pollCq: {
      plane: 'data',
      reaps: { queue: 'cq', max: 'max' },
      args: { cq: handle('Cq'), max: z.number().int().min(1).max(MAX_POLL).default(MAX_POLL) },
      result: pollResult,
      errors: ['NOT_OPEN'],
    },
    /**
     * `ibv_req_notify_cq` + `ibv_get_cq_event` + `ibv_poll_cq` in one: as `pollCq`, but waits up
     * to `timeoutMs` for a completion; an empty list means the time ran out.
     */
    waitCq: {
      plane: 'data',
      reaps: { queue: 'cq', max: 'max', timeoutMs: 'timeoutMs' },
      args: {
        cq: handle('Cq'),
        max: z.number().int().min(1).max(MAX_POLL).default(MAX_POLL),
        timeoutMs: z.number().int().min(0).max(600_000).default(1_000),
      },
      result: pollResult,
      errors: ['NOT_OPEN'],
    },
  },
});

export type VerbsSpec = typeof verbsSpec;
