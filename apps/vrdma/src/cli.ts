import { ATTACH_PROTOCOL_VERSION, attachRequestSchema, MAX_GUEST_MEMORY } from '@vrdma/api-spec';
import type { WeightGrant } from '@vrdma/backend';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { runBenchCommand } from './commands/bench.js';
import { runDemo } from './commands/demo.js';
import { runGuest } from './commands/guest.js';
import { defaultSocketPath, operatorSocketPath, runHost } from './commands/host.js';
import { HOST_APIS, type HostApi } from './commands/host-services.js';
import { FileError } from './commands/json-file.js';
import { consoleOutput, type Output } from './commands/output.js';
import { runStats } from './commands/stats.js';
import { readFabricSecret, readToken } from './commands/token.js';
import { runVm } from './commands/vm.js';

/** Exit codes: 0 success, 1 the run found a problem (data mismatch), 2 usage, 3 failure. */
export const EXIT = { ok: 0, problem: 1, usage: 2, failure: 3 } as const;

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
  return n;
}

function engineName(value: string): 'unimem' | 'libfabric' {
  if (value !== 'unimem' && value !== 'libfabric')
    throw new InvalidArgumentError('expected unimem or libfabric');
  return value;
}

/** `<sha256 hex of a token>=<weight>`: the weight a guest earns by presenting that token. */
function weightGrant(value: string, previous: WeightGrant[] = []): WeightGrant[] {
  const match = /^([0-9a-f]{64})=(\d+(?:\.\d+)?)$/.exec(value);
  if (!match || Number(match[2]) <= 0)
    throw new InvalidArgumentError('expected <sha256 of a token, 64 hex digits>=<weight>');
  return [...previous, { sha256: match[1]!, weight: Number(match[2]) }];
}

/** A socket mode in octal, owner and group bits only: 600, 660, 640. */
function socketMode(value: string): number {
  if (!/^0?[0-7]{3}$/.test(value) || (Number.parseInt(value, 8) & ~0o770) !== 0)
    throw new InvalidArgumentError('expected an octal mode with no bits for others, e.g. 660');
  return Number.parseInt(value, 8);
}

/** A guest label the attach protocol accepts: checked here, a bad one is a usage error. */
function guestLabel(value: string): string {
  const request = {
    type: 'attach',
    version: ATTACH_PROTOCOL_VERSION,
    label: value,
    memoryBytes: 0,
  };
  if (!attachRequestSchema.safeParse(request).success)
    throw new InvalidArgumentError('expected 1 to 64 letters, digits, _, . or -');
  return value;
}

/** Parses 4096, 64KiB, 1MiB, 1GiB (binary units) into bytes, from 1 to `max`. */
function bytesUpTo(max: number) {
  return (value: string): number => {
    const match = /^(\d+)\s*(b|k|kib|m|mib|g|gib)?$/i.exec(value.trim());
    if (!match) throw new InvalidArgumentError('expected a size such as 4096, 64KiB or 1MiB');
    const unit = (match[2] ?? 'b').toLowerCase()[0];
    const n =
      Number(match[1]) *
      (unit === 'k' ? 1 << 10 : unit === 'm' ? 1 << 20 : unit === 'g' ? 1 << 30 : 1);
    if (n < 1 || n > max) throw new InvalidArgumentError(`expected 1 byte to ${max} bytes`);
    return n;
  };
}
/** `unimem,verbs`: the APIs a host serves, each known, at least one. */
function apiList(value: string): HostApi[] {
  const names = value.split(',').map((n) => n.trim());
  const unknown = names.filter((n) => !(HOST_APIS as readonly string[]).includes(n));
  if (names.length === 0 || unknown.length > 0)
    throw new InvalidArgumentError(`expected some of ${HOST_APIS.join(', ')}`);
  return names as HostApi[];
}
const byteSize = bytesUpTo(64 << 20);
const byteSizeUnbounded = bytesUpTo(2 ** 40);
/** Guest memory: no host hands out more than the attach protocol allows. */
const guestMemorySize = bytesUpTo(MAX_GUEST_MEMORY);

const guestsOption = () =>
  new Option('--guests <kind>', 'run guests as worker threads or OS processes')
    .choices(['thread', 'process'])
    .default('thread');

/** Builds the `vrdma` program; `exit` receives the command's exit code. */
export function buildProgram(
  out: Output = consoleOutput,
  exit: (code: number) => void = (code) => process.exit(code),
): Command {
  const program = new Command('vrdma')
    .description(
      'Para-virtualised RDMA by API remoting: guests share one Unimem RDMA engine through a host',
    )
    .option('--verbose', 'print stack traces with errors')
    .exitOverride()
    .configureOutput({
      writeErr: (text) => out.note(text.trimEnd()),
      writeOut: (text) => out.line(text.trimEnd()),
      // A usage error is one line; --help is there for the rest.
      outputError: (text, write) => write(`${usageLine(text)}\n`),
    });

  const run = (action: () => Promise<number>) => async () => {
    try {
      exit(await action());
    } catch (error) {
      const verbose = program.opts().verbose === true;
      out.note(`vrdma: ${oneLine(error)}`);
      if (verbose && error instanceof Error && error.stack) out.note(error.stack);
      exit(error instanceof FileError ? EXIT.usage : EXIT.failure);
    }
  };

  program
    .command('demo')
    .description(
      'a host on an emulated 2-node Unimem cluster, 3 guests writing and reading across nodes, verified, then native versus remoted',
    )
    .addOption(guestsOption())
    .option('--count <n>', 'number of guests', positiveInt, 3)
    .option('--nodes <n>', 'nodes of the emulated cluster', positiveInt, 2)
    .option('--size <bytes>', 'bytes each guest writes and reads back', byteSize, 1 << 20)
    .action(function (this: Command) {
      const o = this.opts<{
        guests: 'thread' | 'process';
        count: number;
        nodes: number;
        size: number;
      }>();
      if (o.nodes < 2) throw new InvalidArgumentError('the demo needs at least 2 nodes');
      return run(() => runDemo(o, out))();
    });

  program
    .command('bench')
    .description(
      "the paper's experiment: native and remoted side by side (bandwidth, control calls, kicks, many guests)",
    )
    .option('--quick', 'a short run with fewer sizes and rounds')
    .option('--json', 'print exactly one JSON object on stdout')
    .option('--report <file.html>', 'write a self-contained HTML report with charts')
    .addOption(
      new Option(
        '--guests <kind>',
        'run guests as worker threads, OS processes or QEMU VMs (unimem)',
      )
        .choices(['thread', 'process', 'vm'])
        .default('thread'),
    )
    .addOption(
      new Option('--api <name>', 'the API measured').choices(['unimem', 'verbs']).default('unimem'),
    )
    .option('--engine <name>', 'unimem (emulated) or libfabric', engineName, 'unimem')
    .option('--provider <name>', 'libfabric provider: tcp or shm (loopback)', 'tcp')
    .action(function (this: Command) {
      const o = this.opts<{
        quick?: boolean;
        json?: boolean;
        report?: string;
        guests: 'thread' | 'process' | 'vm';
        api: 'unimem' | 'verbs';
        engine: 'unimem' | 'libfabric';
        provider: string;
      }>();
      return run(() =>
        runBenchCommand(
          {
            quick: o.quick === true,
            json: o.json === true,
            report: o.report,
            guests: o.guests,
            api: o.api,
            engine: o.engine,
            provider: o.provider,
          },
          out,
        ),
      )();
    });

  program
    .command('host')
    .description(
      'a long-running host (backend + emulated Unimem engine) that guests in other processes attach to',
    )
    .option('--socket <path>', 'UNIX socket guests attach to', defaultSocketPath())
    .option(
      '--config <file>',
      'JSON file: { "host": {quotas, weightGrants, leaseMs, ...}, "engine": {...} }',
    )
    .option('--nodes <n>', 'emulated nodes in this process (without --cluster)', positiveInt, 2)
    .option(
      '--cluster <file>',
      'engine-unimem cluster file: this host is one node of a TCP cluster',
    )
    .option('--node <id>', "this host's node id", nonNegativeInt)
    .option(
      '--fabric-secret <file>',
      "a file holding the cluster's shared secret (or env VRDMA_FABRIC_SECRET); nodes prove they hold it",
    )
    .option(
      '--engine <name>',
      'unimem (emulated) or libfabric (fi_write/fi_read)',
      engineName,
      'unimem',
    )
    .option('--provider <name>', 'libfabric provider: tcp, shm, verbs, efa or an fi_info name')
    .option('--quota-buffers <n>', 'buffers per guest', nonNegativeInt)
    .option('--quota-bytes <bytes>', 'bytes of buffers per guest', byteSizeUnbounded)
    .option('--quota-channels <n>', 'channels per guest', nonNegativeInt)
    .option('--quota-keys <n>', 'exported keys per guest', nonNegativeInt)
    .option('--quota-calls <n>', 'calls in flight per guest', positiveInt)
    .option(
      '--socket-mode <octal>',
      "the guests' socket's permissions: 600 (default) or 660 for guests of its group",
      socketMode,
    )
    .option(
      '--operator-socket <path>',
      "where operators read stats (owner-only; default: the socket's path + .operator)",
    )
    .option(
      '--weight-grant <sha256=w>',
      'weight for guests presenting the token of this SHA-256 digest (repeatable)',
      weightGrant,
    )
    .option('--lease <ms>', 'detach a guest silent this long (0: never)', nonNegativeInt)
    .option('--api <names>', `APIs to serve, comma-separated: $HOST_APIS.join(', ')`, apiList, [
      ...HOST_APIS,
    ])
    .action(function (this: Command) {
      const o = this.opts<{
        api: HostApi[];
        socket: string;
        config?: string;
        nodes: number;
        cluster?: string;
        node?: number;
        fabricSecret?: string;
        quotaBuffers?: number;
        quotaBytes?: number;
        quotaChannels?: number;
        quotaKeys?: number;
        quotaCalls?: number;
        operatorSocket?: string;
        socketMode?: number;
        weightGrant?: WeightGrant[];
        lease?: number;
        engine: 'unimem' | 'libfabric';
        provider?: string;
      }>();
      const quotas = {
        buffers: o.quotaBuffers,
        bytes: o.quotaBytes,
        channels: o.quotaChannels,
        keys: o.quotaKeys,
        calls: o.quotaCalls,
      };
      return run(() =>
        runHost(
          {
            socket: o.socket,
            operatorSocket: o.operatorSocket,
            socketMode: o.socketMode,
            config: o.config,
            nodes: o.nodes,
            cluster: o.cluster,
            node: o.node,
            fabricSecret: readFabricSecret(o.fabricSecret),
            quotas,
            weightGrants: o.weightGrant ?? [],
            leaseMs: o.lease,
            apis: o.api,
            engine: o.engine,
            provider: o.provider,
          },
          out,
        ),
      )();
    });

  program
    .command('guest')
    .description(
      'an example guest application: attaches to a running host, writes and reads back through RDMA, verifies',
    )
    .option('--socket <path>', "the host's socket", defaultSocketPath())
    .option('--label <name>', "this guest's name on the host", guestLabel, `guest-$process.pid`)
    .option('--memory <bytes>', 'shared memory to ask the host for', guestMemorySize, 16 << 20)
    .option('--size <bytes>', 'bytes to write and read back', byteSize, 64 << 10)
    .option('--rounds <n>', 'write and read back this many times', positiveInt, 1)
    .option(
      '--token-file <file>',
      'a secret the host grants a weight to (or env VRDMA_GUEST_TOKEN); never on the command line',
    )
    .action(function (this: Command) {
      const o = this.opts<{
        socket: string;
        label: string;
        memory: number;
        size: number;
        rounds: number;
        tokenFile?: string;
      }>();
      return run(() => runGuest({ ...o, token: readToken(o.tokenFile) }, out))();
    });

  program
    .command('vm')
    .description(
      'boots QEMU virtual machines as guests of a host (ivshmem, virtio-serial), each running the example guest',
    )
    .option('--guests <n>', 'how many VMs', positiveInt, 2)
    .option('--size <bytes>', 'bytes to write and read back', byteSize, 64 << 10)
    .option('--rounds <n>', 'write and read back this many times', positiveInt, 1)
    .option('--console', "print every line of the VMs' consoles")
    .action(function (this: Command) {
      const o = this.opts<{ guests: number; size: number; rounds: number; console?: boolean }>();
      return run(() => runVm(o, out))();
    });

  program
    .command('stats')
    .description('per-guest metrics of a running host: calls, errors, bytes, kicks, latency')
    .option(
      '--socket <path>',
      "the host's operator socket (vrdma host --operator-socket)",
      operatorSocketPath(defaultSocketPath()),
    )
    .option('--watch <seconds>', 'refresh every so many seconds until interrupted', positiveInt)
    .option('--json', 'print the raw snapshot as JSON')
    .action(function (this: Command) {
      const o = this.opts<{ socket: string; watch?: number; json?: boolean }>();
      return run(() =>
        runStats({ socket: o.socket, watch: o.watch, json: o.json === true }, out),
      )();
    });

  return program;
}

/** `error: option '--n' argument 'x' is invalid. …` → `vrdma: option … (see --help)`. */
function usageLine(text: string): string {
  const message = text
    .trim()
    .replace(/^error: /, '')
    .split('\n')[0]!;
  return `vrdma: ${message} (see --help)`;
}

/** What went wrong, in one line; --verbose adds the stack. */
function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

/**
 * Parses argv (as `process.argv`: node, script, arguments) and runs the command; resolves with
 * its exit code. Usage errors print one line and give 2.
 */
export async function execute(argv: string[], out: Output = consoleOutput): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(out, (exitCode) => {
    code = exitCode;
  });
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    throw error;
  }
  return code;
}

/** `vrdma` itself: runs argv and exits with the command's code. */
export async function main(argv: string[], out: Output = consoleOutput): Promise<never> {
  process.exit(await execute(argv, out));
}
