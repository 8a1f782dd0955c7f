// Comlink has no "exports" map and its package types describe the UMD build; these say that
// its ES module files, imported by path, have the same API.
declare module 'comlink/dist/esm/comlink.mjs' {
  export * from 'comlink';
}
declare module 'comlink/dist/esm/node-adapter.mjs' {
  import type { Endpoint } from 'comlink';
  export default function nodeEndpoint(endpoint: unknown): Endpoint;
}
