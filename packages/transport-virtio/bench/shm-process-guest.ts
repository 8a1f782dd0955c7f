import { connectToProcessHost } from '@vrdma/transport-shm';
import { timeQueries } from './timed-calls.js';

/** A guest process on transport-shm's polled ring (UNIX socket, memfd), report over IPC. */
const [path, calls, burst] = process.argv.slice(2);
const { transport } = await connectToProcessHost(path!);
const report = await timeQueries(transport, Number(calls), Number(burst));
process.send!(report, () => process.exit(0));
