/**
 * A token bucket small enough to live in a WebSocket attachment: `tokens`
 * frames may arrive at once, and the bucket regains `perSecond` tokens each
 * second up to `burst`. Pure functions of the bucket and the clock, so the
 * state survives hibernation with the socket it belongs to.
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

/** Takes one token if there is one; mutates `bucket` and says whether it could. */
export function takeToken(bucket: Bucket, limits: BucketLimits, now: number): boolean {
  const elapsed = Math.max(0, now - bucket.at);
  bucket.tokens = Math.min(limits.burst, bucket.tokens + (elapsed * limits.perSecond) / 1000);
  bucket.at = now;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}
