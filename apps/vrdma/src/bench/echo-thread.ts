/**
 * The far end of the baselines: a worker thread that answers every message on one port with
 * postMessage, and exposes the same echo through Comlink on another.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
// Comlink ships no "exports" map; its ES module build is imported by path.
import * as Comlink from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';

const { postPort, comlinkPort } = workerData as { postPort: MessagePort; comlinkPort: MessagePort };
postPort.on('message', (message: unknown) => postPort.postMessage(message));
Comlink.expose({ echo: (message: unknown) => message }, nodeEndpoint(comlinkPort));
parentPort!.postMessage('ready');
