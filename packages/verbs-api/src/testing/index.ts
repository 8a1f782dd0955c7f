export { describeVerbsConformance, type VerbsConformanceTarget } from './conformance.js';
export { loopbackVerbsEngine } from './loopback-engine.js';
