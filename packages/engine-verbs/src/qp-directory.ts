import type { QueuePair } from './queue-pair.js';

/**
 * The queue pairs of every device of a fabric, by node and number: what a SEND or an RDMA
 * request reaches as its responder. Numbers are unique per node, never reused while live.
 */
export class QpDirectory {
  private readonly byNode = new Map<number, Map<number, QueuePair>>();
  private nextNumber = 0x100;

  /** A fresh queue pair number (24 bits, as InfiniBand's). */
  mint(): number {
    const qpNum = this.nextNumber;
    this.nextNumber = this.nextNumber >= 0xff_ffff ? 0x100 : this.nextNumber + 1;
    return qpNum;
  }

  add(node: number, qp: QueuePair): void {
    let numbers = this.byNode.get(node);
    if (!numbers) {
      numbers = new Map();
      this.byNode.set(node, numbers);
    }
    numbers.set(qp.qpNum, qp);
  }

  remove(node: number, qpNum: number): void {
    this.byNode.get(node)?.delete(qpNum);
  }

  lookup(node: number, qpNum: number): QueuePair | undefined {
    return this.byNode.get(node)?.get(qpNum);
  }
}
