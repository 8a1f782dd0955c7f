import { VrdmaError } from '@vrdma/api-spec';

/**
 * What an operator is told about: a guest reaching for what is not its own, over its quota, or
 * out of its budget of failed access checks.
 */
export type RefusalKind = 'isolation' | 'quota' | 'access';

/** A call the host refused on purpose; the audit interceptor records it. */
export class Refusal extends VrdmaError {
  constructor(
    readonly kind: RefusalKind,
    code: string,
    message: string,
  ) {
    super(code, message);
  }
}
