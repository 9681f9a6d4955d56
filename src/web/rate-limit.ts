// A fixed-window request counter per key, in this process's memory, on the injected clock. For limits whose purpose is to
// stop one client from making Kizuna do expensive or outbound work on its behalf (the LIFF POST calls LINE's verify endpoint):
// every web process counts on its own, which bounds the total by the number of processes — good enough for that purpose.
// Login throttling, which must hold across processes and restarts, lives in the database instead (crm/operators.ts).
import { AppError, Codes } from '../errors.js';

export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number,
    /** Keys remembered at most; expired windows are dropped first when the map is full. */
    private readonly maxKeys = 50_000,
  ) {}

  /** Counts one request for `key`; throws 429 RATE_LIMITED (details.retryAfterSeconds) when its window is full. */
  take(key: string): void {
    const now = this.now();
    let w = this.windows.get(key);
    if (!w || now - w.start >= this.windowMs) {
      if (!w && this.windows.size >= this.maxKeys) this.prune(now);
      w = { start: now, count: 0 };
      this.windows.set(key, w);
    }
    if (w.count >= this.limit) {
      const retryAfterSeconds = Math.max(1, Math.ceil((w.start + this.windowMs - now) / 1000));
      throw new AppError(Codes.RATE_LIMITED, `Too many requests; retry in ${retryAfterSeconds} s.`, { retryAfterSeconds });
    }
    w.count++;
  }

  private prune(now: number): void {
    for (const [key, w] of this.windows) if (now - w.start >= this.windowMs) this.windows.delete(key);
    // Still full of live windows (a flood from many addresses): forget the oldest half rather than grow without bound.
    if (this.windows.size >= this.maxKeys) {
      let drop = Math.ceil(this.windows.size / 2);
      for (const key of this.windows.keys()) {
        if (drop-- <= 0) break;
        this.windows.delete(key);
      }
    }
  }
}
