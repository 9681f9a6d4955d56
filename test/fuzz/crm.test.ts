// Property-based fuzzing of /api/v1/friends (list and search, detail, values, email, CSV import) and /api/v1/custom-data
// (categories and fields) with hostile strings, numbers, JSON shapes and CSV files; see suite.ts and world.ts.
import { defineFuzzSuite } from './suite.js';

defineFuzzSuite('crm');
