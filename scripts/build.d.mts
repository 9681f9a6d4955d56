/** Compiles src/ into dist/. */
export function build(): Promise<void>;
/** Builds dist/ unless it is already built from the current sources. */
export function ensureBuilt(): Promise<void>;
