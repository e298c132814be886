import { describe, expect, it } from "vitest";
import { clientPace, fullBucket, msUntilToken, spendToken, takeToken } from "../src/shared/rate-limit";

const limits = { burst: 3, perSecond: 2 };

describe("token bucket", () => {
  it("allows a burst, then refills at the rate, never above the burst", () => {
    const bucket = fullBucket(limits, 0);
    expect([1, 2, 3, 4].map(() => takeToken(bucket, limits, 0))).toEqual([true, true, true, false]);
    expect(takeToken(bucket, limits, 499)).toBe(false);
    expect(takeToken(bucket, limits, 500)).toBe(true); // one token per 500 ms
    expect(takeToken(bucket, limits, 60_000)).toBe(true);
    expect(bucket.tokens).toBe(2); // refilled to 3, not 119
  });

  it("says how long until the next token, and can go into debt", () => {
    const bucket = fullBucket(limits, 0);
    expect(msUntilToken(bucket, limits, 0)).toBe(0);
    for (let i = 0; i < 3; i++) spendToken(bucket, limits, 0);
    expect(msUntilToken(bucket, limits, 0)).toBe(500);
    spendToken(bucket, limits, 0); // a frame that had to go anyway
    expect(msUntilToken(bucket, limits, 0)).toBe(1000);
    expect(msUntilToken(bucket, { burst: 3, perSecond: 0 }, 0)).toBe(Infinity);
  });
});

describe("client pace", () => {
  it("keeps a little under the room's limit, and none for a room without one", () => {
    expect(clientPace({ rateBurst: 10, ratePerSecond: 5 })).toEqual({ burst: 8, perSecond: 4 });
    expect(clientPace({ rateBurst: 2, ratePerSecond: 1 })).toEqual({ burst: 1, perSecond: 0.8 });
    expect(clientPace({ rateBurst: 0, ratePerSecond: 5 })).toBeNull();
  });
});
