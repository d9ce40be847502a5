export interface BackoffOptions {
  /** First delay. */
  initialMs: number;
  /** Upper bound of any computed delay (Retry-After may exceed it). */
  maxMs: number;
  /** After this long without a failure the sequence starts over at initialMs. */
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 200, maxMs: 30_000, resetAfterMs: 120_000 };

/**
 * Exponential backoff with jitter. Jitter spreads reconnects of many reflectors (and many
 * exporter replicas) after an API-server outage so they do not return in lockstep.
 */
export class Backoff {
  private readonly options: BackoffOptions;
  private attempt = 0;
  private lastFailureAt = Number.NEGATIVE_INFINITY;

  constructor(options: Partial<BackoffOptions> = {}) {
    this.options = { ...DEFAULT_BACKOFF, ...options };
  }

  /** Delay before the next attempt after a failure; honours a server's Retry-After. */
  next(retryAfterSeconds?: number): number {
    const now = Date.now();
    if (now - this.lastFailureAt > this.options.resetAfterMs) this.attempt = 0;
    this.lastFailureAt = now;
    const base = Math.min(this.options.maxMs, this.options.initialMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    // "Equal jitter": at least half the base so the delay still grows, at most the base.
    const delay = base / 2 + (Math.random() * base) / 2;
    const serverAsked = retryAfterSeconds === undefined ? 0 : retryAfterSeconds * 1000;
    return Math.round(Math.max(delay, serverAsked));
  }

  reset(): void {
    this.attempt = 0;
    this.lastFailureAt = Number.NEGATIVE_INFINITY;
  }
}
