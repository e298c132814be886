/**
 * A token bucket small enough to live in a WebSocket attachment: `burst`
 * frames may arrive at once, and the bucket regains `perSecond` tokens each
 * second up to `burst`. Pure functions of the bucket and the clock, so the
 * state survives hibernation with the socket it belongs to; the clients (the
 * browser page and the terminal client) use the same bucket to pace their
 * outboxes under the room's limit.
 */

export interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date, ms since the epoch. */
  at: number;
}

export interface BucketLimits {
  burst: number;
  perSecond: number;
}

export const fullBucket = (limits: BucketLimits, now: number): Bucket => ({ tokens: limits.burst, at: now });

function refill(bucket: Bucket, limits: BucketLimits, now: number): void {
  const elapsed = Math.max(0, now - bucket.at);
  bucket.tokens = Math.min(limits.burst, bucket.tokens + (elapsed * limits.perSecond) / 1000);
  bucket.at = now;
}

/** Takes one token if there is one; mutates `bucket` and says whether it could. */
export function takeToken(bucket: Bucket, limits: BucketLimits, now: number): boolean {
  refill(bucket, limits, now);
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

/** Milliseconds until takeToken would succeed: 0 when it would now,
 * Infinity when the bucket never refills. */
export function msUntilToken(bucket: Bucket, limits: BucketLimits, now: number): number {
  refill(bucket, limits, now);
  if (bucket.tokens >= 1) return 0;
  return limits.perSecond > 0 ? Math.ceil(((1 - bucket.tokens) / limits.perSecond) * 1000) : Infinity;
}

/** Spends `count` tokens (one unless said) whether there are any or not
 * (for a frame that goes out anyway): the bucket goes into debt, and later
 * frames wait longer. */
export function spendToken(bucket: Bucket, limits: BucketLimits, now: number, count = 1): void {
  refill(bucket, limits, now);
  bucket.tokens -= count;
}

/** The tokens a bucket holds now (fractions and debt included). */
export function tokensNow(bucket: Bucket, limits: BucketLimits, now: number): number {
  refill(bucket, limits, now);
  return bucket.tokens;
}

/** What a room announces of its rate limit (welcome.limits). */
export interface AnnouncedRate {
  rateBurst: number;
  ratePerSecond: number;
}

/**
 * The pace a client keeps for a room: a little under the room's own limit,
 * so that a queue flushed right after a (re)join, whose join frame spent a
 * token, is not refused. null when the room has no limit (a burst of 0).
 */
export const clientPace = (limits: AnnouncedRate): BucketLimits | null =>
  limits.rateBurst === 0 ? null : { burst: Math.max(1, limits.rateBurst - 2), perSecond: limits.ratePerSecond * 0.8 };
