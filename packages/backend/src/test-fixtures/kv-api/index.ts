export {
  createKvEngine,
  KvEngine,
  type KvEngineOptions,
  type KvJournalEntry,
} from './engine.js';
export { KvSession } from './session.js';
export { type KvApi, type KvErrorCode, type KvSpec, kvSpec, MAX_VALUE_BYTES } from './spec.js';
