// Shopify's leaky bucket for GraphQL cost (https://shopify.dev/docs/api/usage/limits#the-leaky-bucket-algorithm): a query
// may start only when the bucket holds its requested cost; the actual cost is what stays spent. Points come back
// continuously at `restoreRate` per second, measured on the injected clock so tests never sleep.
export interface BucketSettings {
  maximumAvailable: number;
  restoreRate: number;
}

export interface ThrottleStatus {
  maximumAvailable: number;
  currentlyAvailable: number;
  restoreRate: number;
}

export class LeakyBucket {
  private available: number;
  private at: number;

  constructor(
    private settings: BucketSettings,
    private readonly now: () => number,
  ) {
    this.available = settings.maximumAvailable;
    this.at = now();
  }

  private refill(): void {
    const t = this.now();
    if (t > this.at) {
      this.available = Math.min(this.settings.maximumAvailable, this.available + ((t - this.at) / 1000) * this.settings.restoreRate);
    }
    this.at = t;
  }

  /** Takes `cost` points if the bucket holds them; otherwise takes nothing (the call is THROTTLED). */
  tryTake(cost: number): boolean {
    this.refill();
    if (cost > this.available) return false;
    this.available -= cost;
    return true;
  }

  /** Gives back the difference between requested and actual cost once a query has run. */
  refund(points: number): void {
    this.refill();
    this.available = Math.min(this.settings.maximumAvailable, this.available + points);
  }

  status(): ThrottleStatus {
    this.refill();
    return {
      maximumAvailable: this.settings.maximumAvailable,
      // Shopify reports whole points here (see samples/graphql/cost_extension_2026-01.json).
      currentlyAvailable: Math.floor(this.available),
      restoreRate: this.settings.restoreRate,
    };
  }

  configure(patch: Partial<BucketSettings> & { currentlyAvailable?: number }): void {
    this.refill();
    this.settings = {
      maximumAvailable: patch.maximumAvailable ?? this.settings.maximumAvailable,
      restoreRate: patch.restoreRate ?? this.settings.restoreRate,
    };
    if (patch.currentlyAvailable !== undefined) this.available = patch.currentlyAvailable;
    this.available = Math.max(0, Math.min(this.available, this.settings.maximumAvailable));
  }
}
