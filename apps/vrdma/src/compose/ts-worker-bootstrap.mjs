// A worker thread cannot load TypeScript by itself, and ignores --import in execArgv:
// register tsx in this thread, then load the entry named in workerData (source runs only).
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.vrdmaEntry);
