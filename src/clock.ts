// Time as a dependency: production reads the system clock and sleeps on timers; tests move a controllable clock instead of
// sleeping.
export interface Clock {
  now(): Date;
  /** Waits `ms` of this clock's time (the system clock: a timer; a ManualClock: moves itself forward at once). */
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => new Promise<void>((r) => setTimeout(r, ms)),
};

export class ManualClock implements Clock {
  private t: number;
  constructor(start: Date | string | number) {
    this.t = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.t);
  }
  set(to: Date | string | number): void {
    this.t = new Date(to).getTime();
  }
  advance(ms: number): void {
    this.t += ms;
  }
  /** Waiting on a hand-driven clock is moving it: instant and deterministic. */
  async sleep(ms: number): Promise<void> {
    this.advance(ms);
  }
}
