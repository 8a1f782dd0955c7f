import type { PeerLink } from './control-messages.js';

/** What a peer exports, as it told us: checked before a transfer to it is posted. */
export interface RemoteExport {
  slot: number;
  length: number;
  access: 'read' | 'write' | 'read-write';
}

/** Another node (or this one) as seen from here. */
export interface Peer {
  node: number;
  fiAddr: number;
  up: boolean;
  exports: Map<number, RemoteExport>;
  link: PeerLink | undefined;
  lastKick: number;
}

export function grants(access: RemoteExport['access'], wanted: 'read' | 'write'): boolean {
  return access === 'read-write' || access === wanted;
}
