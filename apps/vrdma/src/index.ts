export { type BenchOptions, runBench } from './bench/experiment.js';
export { renderReport } from './bench/report-html.js';
export { type BenchResult, jainIndex } from './bench/result.js';
export { buildProgram, EXIT, execute, main } from './cli.js';
export { Deployment, type DeploymentOptions, type GuestKind } from './compose/deployment.js';
