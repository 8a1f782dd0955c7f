import {
  createDispatcher,
  type Dispatcher,
  SESSION_FEATURES,
  sessionSpec,
  shortFingerprint,
  VrdmaError,
} from '@vrdma/api-spec';
import { unimemSpec } from '@vrdma/unimem-api';

export interface HandshakeOptions {
  host: string;
  guest: number;
  leaseMs: number;
  onGreeted(): void;
  onGoodbye(): void;
}

/**
 * The host's side of the session spec for one guest: hello checks that the guest was built
 * against the API the host serves (name and full fingerprint) and grants the features both know.
 */
export function createHandshake(options: HandshakeOptions): Dispatcher {
  return createDispatcher(sessionSpec, {
    hello: ({ api, version, fingerprint, features }) => {
      if (api !== unimemSpec.name || fingerprint !== unimemSpec.fingerprint) {
        throw new VrdmaError(
          'FINGERPRINT_MISMATCH',
          `guest built against ${api} v${version} (${shortFingerprint(fingerprint)}), host serves ${unimemSpec.name} v${unimemSpec.version} (${shortFingerprint(unimemSpec.fingerprint)})`,
        );
      }
      options.onGreeted();
      const granted = features.filter((f) => (SESSION_FEATURES as readonly string[]).includes(f));
      return {
        host: options.host,
        guest: options.guest,
        features: granted,
        leaseMs: options.leaseMs,
      };
    },
    ping: () => undefined,
    goodbye: () => {
      // After the reply has gone out.
      setImmediate(options.onGoodbye);
    },
  });
}
