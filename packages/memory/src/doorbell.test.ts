import { describe, expect, it } from 'vitest';
import { AWAKE, atomicsWakeChannel, Doorbell, SLEEPING, type WakeChannel } from './doorbell.js';
import { SocketWakeChannel } from './socket-wake-channel.js';

const HOST = 0;
const GUEST = 1;

function pair() {
  const words = new Int32Array(new SharedArrayBuffer(64));
  const host = new Doorbell(words, HOST, GUEST, atomicsWakeChannel(words, HOST, GUEST));
  const guest = new Doorbell(words, GUEST, HOST, atomicsWakeChannel(words, GUEST, HOST));
  return { words, host, guest };
}

describe('Doorbell', () => {
  it('rings only a peer that announced sleep, once per sleep, and counts every ring', async () => {
    const { words, host, guest } = pair();
    expect(guest.ringIfSleeping()).toBe(false); // the host is awake: no doorbell
    let work = false;
    const sleeping = host.sleep(() => work, 10_000);
    expect(Atomics.load(words, HOST)).toBe(SLEEPING);
    work = true;
    expect(guest.ringIfSleeping()).toBe(true);
    expect(guest.ringIfSleeping()).toBe(false); // the same sleep is never paid twice
    await sleeping;
    expect(Atomics.load(words, HOST)).toBe(AWAKE);
    expect(guest.rings).toBe(1);
    expect(host.rings).toBe(0);
  });

  it('does not sleep when work arrived between the announcement and the wait', async () => {
    const { host, guest } = pair();
    await host.sleep(() => true, 10_000); // returns at once: no wake needed, none counted
    expect(guest.rings).toBe(0);
  });

  it('ends a sleep after its timeout even if nobody rings (a peer that lost the ring)', async () => {
    const words = new Int32Array(new SharedArrayBuffer(64));
    const atomics = atomicsWakeChannel(words, HOST, GUEST);
    const waits: number[] = [];
    let wordWhenWaitEnded: number | undefined;
    const channel: WakeChannel = {
      ...atomics,
      receive: async (timeoutMs) => {
        waits.push(timeoutMs);
        await atomics.receive(timeoutMs);
        wordWhenWaitEnded = Atomics.load(words, HOST);
      },
    };
    const host = new Doorbell(words, HOST, GUEST, channel);
    let looks = 0;
    const sleeping = host.sleep(() => {
      looks++;
      return false;
    }, 5);
    // It looked once, found nothing, announced sleep and waits with its timeout.
    expect(looks).toBe(1);
    expect(waits).toEqual([5]);
    expect(Atomics.load(words, HOST)).toBe(SLEEPING);
    // Nobody rings. A 5 ms timeout ends the sleep long before this bound, even on a machine
    // ten times slower; a wait that ignored its timeout would never end.
    let guard: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      sleeping.then(() => 'ended'),
      new Promise((resolve) => {
        guard = setTimeout(() => resolve('still asleep after 5 s'), 5_000);
      }),
    ]);
    clearTimeout(guard);
    expect(outcome).toBe('ended');
    // No ring claimed the sleep (a waker would have swapped the word to AWAKE first): the
    // timeout ended it. Then the sleeper is awake again, and no doorbell was counted.
    expect(wordWhenWaitEnded).toBe(SLEEPING);
    expect(Atomics.load(words, HOST)).toBe(AWAKE);
    expect(host.rings).toBe(0);
  });
});

describe('SocketWakeChannel', () => {
  it('keeps a wake that came before the wait, and sends one byte per wake', async () => {
    const sent: number[] = [];
    const channel = new SocketWakeChannel((bytes) => sent.push(...bytes));
    channel.send();
    channel.send();
    expect(sent).toEqual([1, 1]);
    channel.received(1);
    await channel.receive(10_000); // resolves at once: the wake was remembered
    const waiting = channel.receive(10_000);
    channel.received(1);
    await waiting;
    channel.close();
    await channel.receive(10_000); // a closed channel never blocks
  });
});
