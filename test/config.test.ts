import { describe, expect, it } from "vitest";
import { ConfigError, LIMITS, parseConfig } from "../src/worker/config";

describe("configuration", () => {
  it("has the documented defaults when nothing is set", () => {
    expect(parseConfig({})).toEqual({
      maxMessageLength: 4000,
      maxNickLength: 32,
      historyOnJoin: 100,
      historyOnResume: 1000,
      historyPage: 100,
      historyMaxBytes: 262_144,
      historyRetention: 10_000,
      maxConnectionsPerRoom: 1000,
      maxConnectionsPerAddress: 32,
      joinTimeoutMs: 10_000,
      maxFrameBytes: 16_384,
      rateLimitBurst: 10,
      rateLimitPerSecond: 5,
      frameRateBurst: 200,
      frameRatePerSecond: 50,
      maxRefusals: 30,
      typingIntervalMs: 2000,
      pingTimeoutMs: 90_000,
      roomExpiryDays: 90,
      sessionTtlHours: 24,
      roomReadsBurst: 40,
      roomReadsPerSecond: 20,
      roomEditsBurst: 5,
      roomEditsPerSecond: 5,
      searchWordsPerMessage: 32,
      kickCooldownSeconds: 60,
      maxFileBytes: 10_485_760,
      roomFilesQuotaBytes: 1_073_741_824,
      uploadBytesPerHour: 104_857_600,
      maxCallParticipants: 6,
      maxSignalBytes: 12_000,
      signalRateBurst: 100,
      signalRatePerSecond: 20,
      allowedOrigins: new Set(),
      ipRateLimits: true,
      iceServers: [],
    });
  });

  it("reads ICE_SERVERS as JSON, adds a TURN server from the TURN_* secrets, and says what is wrong", () => {
    expect(parseConfig({ ICE_SERVERS: '[{"urls":"stun:stun.cloudflare.com:3478"}]' }).iceServers).toEqual([
      { urls: "stun:stun.cloudflare.com:3478" },
    ]);
    expect(parseConfig({ ICE_SERVERS: "[]" }).iceServers).toEqual([]);
    const withTurn = parseConfig({
      ICE_SERVERS: '[{"urls":["stun:a.example:3478","stun:b.example"],"ignored":1}]',
      TURN_URLS: "turn:turn.example:3478?transport=udp, turns:turn.example:5349",
      TURN_USERNAME: "edge",
      TURN_CREDENTIAL: "secret",
    });
    expect(withTurn.iceServers).toEqual([
      { urls: ["stun:a.example:3478", "stun:b.example"] },
      {
        urls: ["turn:turn.example:3478?transport=udp", "turns:turn.example:5349"],
        username: "edge",
        credential: "secret",
      },
    ]);
    expect(() => parseConfig({ ICE_SERVERS: "stun:x" })).toThrow(/ICE_SERVERS must be a JSON array.*not JSON/);
    expect(() => parseConfig({ ICE_SERVERS: '[{"urls":"http://x"}]' })).toThrow(/ICE_SERVERS must be a JSON array of/);
    expect(() => parseConfig({ ICE_SERVERS: '{"urls":"stun:x"}' })).toThrow(/ICE_SERVERS must be a JSON array of/);
    expect(() => parseConfig({ TURN_URLS: "turn:x" })).toThrow(/TURN_USERNAME and TURN_CREDENTIAL must be too/);
    expect(() => parseConfig({ TURN_URLS: "stun:x", TURN_USERNAME: "a", TURN_CREDENTIAL: "b" })).toThrow(
      /TURN_URLS must be comma-separated turn:/,
    );
  });

  it("reads strings (wrangler --var) and numbers", () => {
    const config = parseConfig({ MAX_MESSAGE_LENGTH: "500", HISTORY_ON_JOIN: 0, RATE_LIMIT_BURST: " 0 " });
    expect(config.maxMessageLength).toBe(500);
    expect(config.historyOnJoin).toBe(0);
    expect(config.rateLimitBurst).toBe(0);
  });

  it.each([
    ["MAX_MESSAGE_LENGTH", "abc"],
    ["MAX_MESSAGE_LENGTH", "0"],
    ["MAX_MESSAGE_LENGTH", "1.5"],
    ["MAX_MESSAGE_LENGTH", "-4"],
    ["MAX_FRAME_BYTES", "2000000"],
    ["HISTORY_RETENTION", "0"],
    ["SESSION_TTL_HOURS", true],
  ])("refuses %s = %j, naming the variable and its range", (name, value) => {
    expect(() => parseConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => parseConfig({ [name]: value })).toThrow(
      new RegExp(`${name} must be a whole number from \\d+ to \\d+`),
    );
  });

  it("reads IP_RATE_LIMITS as on or off, and nothing else", () => {
    expect(parseConfig({ IP_RATE_LIMITS: "off" }).ipRateLimits).toBe(false);
    expect(parseConfig({ IP_RATE_LIMITS: "on" }).ipRateLimits).toBe(true);
    expect(() => parseConfig({ IP_RATE_LIMITS: "no" })).toThrow(/IP_RATE_LIMITS must be "on" or "off"; got "no"/);
  });

  it("reads ALLOWED_ORIGINS as a comma-separated list of origins", () => {
    const config = parseConfig({ ALLOWED_ORIGINS: "https://a.example, http://localhost:3000/ ," });
    expect([...config.allowedOrigins]).toEqual(["https://a.example", "http://localhost:3000"]);
    expect(() => parseConfig({ ALLOWED_ORIGINS: "https://a.example/path" })).toThrow(/not an origin/);
    expect(() => parseConfig({ ALLOWED_ORIGINS: "a.example" })).toThrow(/not an origin/);
  });

  it("documents every limit in wrangler.toml with its default", async () => {
    // wrangler.toml's [vars] reach the tests unchanged except where vitest.config.ts overrides them.
    const { env } = await import("cloudflare:workers");
    const vars = env as unknown as Record<string, unknown>;
    for (const setting of Object.values(LIMITS)) expect(vars[setting.env], setting.env).toBeDefined();
    expect(vars.MAX_MESSAGE_LENGTH).toBe(String(LIMITS.maxMessageLength.default));
    expect(vars.RATE_LIMIT_BURST).toBe(String(LIMITS.rateLimitBurst.default));
  });
});
