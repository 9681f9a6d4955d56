// Property-based fuzzing of every /api route (JSON API: bearer token or operator session) with hostile strings, numbers, JSON
// shapes and CSV files; see suite.ts for the rules checked and world.ts for the knobs (FUZZ_RUNS, FUZZ_SEED…).
import { defineFuzzSuite } from './suite.js';

defineFuzzSuite('api');
