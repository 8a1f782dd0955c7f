import {
  createDispatcher,
  type Dispatcher,
  SESSION_FEATURES,
  sessionSpec,
  VrdmaError,
} from '@vrdma/api-spec';

/** What a guest says in its hello. */
export interface Hello {
  api: string;
  version: number;
  fingerprint: string;
  label?: string;
}

export interface HandshakeOptions {
  host: string;
  guest: number;
  leaseMs: number;
  /** Accepts the guest for the API it names, or throws the error it gets (a typed refusal). */
  onHello(hello: Hello): void;
  /** Whether this guest can have a feature the host knows (default: yes). */
  grants?(feature: string): boolean;
  onPing(): void;
  /** The guest said goodbye: called before the reply goes out. */
  onGoodbye(): void;
}

/**
 * The host's side of the session spec for one guest: hello is accepted once, for the API the
 * guest names (checked by `onHello`), with the features both sides know.
 */
export function createHandshake(options: HandshakeOptions): Dispatcher {
  let greeted = false;
  return createDispatcher(sessionSpec, {
    hello: (hello) => {
      if (greeted) throw new VrdmaError('INVALID_ARGUMENT', 'this guest already said hello');
      options.onHello(hello);
      greeted = true;
      const granted = hello.features.filter(
        (f) => (SESSION_FEATURES as readonly string[]).includes(f) && (options.grants?.(f) ?? true),
      );
      return {
        host: options.host,
        guest: options.guest,
        features: granted,
        leaseMs: options.leaseMs,
      };
    },
    ping: () => {
      options.onPing();
    },
    goodbye: () => {
      options.onGoodbye();
    },
  });
}
