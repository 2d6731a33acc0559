export {
  type BreakKind,
  type FuzzBreak,
  type FuzzOp,
  type FuzzOptions,
  type FuzzReport,
  type FuzzTarget,
  type FuzzTargetFactory,
  firstDifference,
  runFuzz,
} from './harness.ts';
export { formatReports } from './report.ts';
export { fuzzU32, fuzzU64, Rng } from './rng.ts';
export { FUZZ_TARGETS } from './targets/index.ts';
