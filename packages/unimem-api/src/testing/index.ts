export {
  type ConformanceTarget,
  describeUnimemConformance,
  expectSameBytes,
  testPattern,
} from './conformance.js';
export { loopbackEngine } from './loopback-engine.js';
