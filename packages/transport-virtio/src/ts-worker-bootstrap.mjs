// Workers cannot load TypeScript by themselves: register tsx in this thread, then load the
// entry named in workerData (tests and benchmarks only; never part of the build).
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
