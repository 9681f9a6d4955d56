// Property-based fuzzing of the /api routes other than friends and custom data — segments, deliveries, the Shopify
// integration, the OpenAPI document, and any /api route added later — with hostile strings, numbers and JSON shapes, by
// bearer token or operator session; see suite.ts for the rules checked and world.ts for the knobs (FUZZ_RUNS, FUZZ_SEED…).
import { defineFuzzSuite } from './suite.js';

defineFuzzSuite('api');
