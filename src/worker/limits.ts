/**
 * The room's limits: what it derives from its configuration once per object
 * start (RoomRules), and the budgets every socket spends (SocketLimits):
 *
 * - frames of any kind, before anything is read of them (a flood is cut off
 *   at the price of one subtraction);
 * - frames that do something, against the room's rate limit (typing notices
 *   have their own silent throttle, signals their own budget in calls.ts);
 * - frames per client address, across all rooms (ip-rate-limit.ts);
 * - refusals: a socket that keeps sending what is refused is closed.
 *
 * Budgets live in memory only. They refill within seconds, faster than a
 * room hibernates, so a socket that wakes its room finds them full anyway;
 * the room's rate limit alone is kept in the socket's attachment (it spans
 * minutes of chatting).
 */
import type { Config } from "./config";
import type { Connections, SocketState } from "./connections";
import type { IpFrameLimit } from "./ip-rate-limit";
import { log } from "./log";
import type { FrameLimits, RoomLimits } from "../shared/protocol";
import { fullBucket, msUntilToken, takeToken, type Bucket, type BucketLimits } from "../shared/rate-limit";

const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** Values the room uses on every frame or join, computed once from its Config. */
export interface RoomRules {
  /** What the frame parser checks (lengths). */
  readonly frameLimits: FrameLimits;
  /** What the welcome tells clients, so that they pace and check themselves. */
  readonly roomLimits: RoomLimits;
  /** The room's rate limit on frames that do something (RATE_LIMIT_*). */
  readonly messageRate: BucketLimits;
  /** Frames of any kind (FRAME_RATE_*). */
  readonly frameBudget: BucketLimits;
  /** Refusals in a row before a socket is closed (MAX_REFUSALS, one back per second). */
  readonly refusalBudget: BucketLimits;
  /** WebRTC signals (SIGNAL_RATE_*). */
  readonly signalRate: BucketLimits;
  /** Room-wide: answers that read the history for one person (ROOM_READS_*,
   * read-queue.ts), and edits and members' deletions (ROOM_EDITS_*). */
  readonly readRate: BucketLimits;
  readonly editRate: BucketLimits;
  /** SESSION_TTL_HOURS and ROOM_EXPIRY_DAYS in milliseconds (expiry 0: never). */
  readonly sessionTtlMs: number;
  readonly expiryMs: number;
}

export function roomRules(config: Config): RoomRules {
  const frameLimits = { messageLength: config.maxMessageLength, nickLength: config.maxNickLength };
  return {
    frameLimits,
    roomLimits: {
      ...frameLimits,
      typingIntervalMs: config.typingIntervalMs,
      rateBurst: config.rateLimitBurst,
      ratePerSecond: config.rateLimitPerSecond,
      fileBytes: config.maxFileBytes,
    },
    messageRate: { burst: config.rateLimitBurst, perSecond: config.rateLimitPerSecond },
    frameBudget: { burst: config.frameRateBurst, perSecond: config.frameRatePerSecond },
    refusalBudget: { burst: config.maxRefusals, perSecond: 1 },
    signalRate: { burst: config.signalRateBurst, perSecond: config.signalRatePerSecond },
    readRate: { burst: config.roomReadsBurst, perSecond: config.roomReadsPerSecond },
    editRate: { burst: config.roomEditsBurst, perSecond: config.roomEditsPerSecond },
    sessionTtlMs: config.sessionTtlHours * HOUR_MS,
    expiryMs: config.roomExpiryDays * DAY_MS,
  };
}

/** What a frame over a budget gets: a `rate_limited` error with this message. */
export type OverBudget = string | null;

export class SocketLimits {
  readonly #rules: RoomRules;
  readonly #sockets: Connections;
  /** Frames per client address across all rooms; null when IP_RATE_LIMITS is off. */
  readonly #ipFrames: IpFrameLimit | null;
  readonly #logName: string;
  readonly #budgets = new WeakMap<WebSocket, { frames: Bucket; refusals: Bucket }>();
  /** The room's budget for edits and members' deletions, whoever sends them. */
  #edits: Bucket | null = null;
  readonly #rateLoggedAt = new WeakMap<WebSocket, number>();

  constructor(rules: RoomRules, sockets: Connections, ipFrames: IpFrameLimit | null, logName: string) {
    this.#rules = rules;
    this.#sockets = sockets;
    this.#ipFrames = ipFrames;
    this.#logName = logName;
  }

  /** A new socket starts with the room's rate limit full. */
  fullMessageRate(now: number): Bucket {
    return fullBucket(this.#rules.messageRate, now);
  }

  /** Any frame at all, joined or not, before it is read. */
  frame(ws: WebSocket, now: number): OverBudget {
    const budget = this.#rules.frameBudget;
    if (budget.burst === 0 || takeToken(this.#budgetsOf(ws, now).frames, budget, now)) return null;
    return `Slow down: at most ${budget.burst} frames of any kind at once, then ${budget.perSecond} per second. That frame was dropped.`;
  }

  /**
   * A parsed (or refused) frame of `kind`: against the room's rate limit when
   * it counts (refused ones included: a flood of garbage is still a flood),
   * then against its address, in all rooms together; signals (a call's setup
   * sends dozens) in an address count of their own.
   */
  action(ws: WebSocket, state: SocketState, kind: string | null, now: number): OverBudget {
    const rate = this.#rules.messageRate;
    if (kind !== "typing" && kind !== "signal" && rate.burst > 0) {
      const allowed = takeToken(state.bucket, rate, now);
      this.#sockets.save(ws, state);
      if (!allowed) {
        // One line per socket per 10 s: a flood must not become a flood of logs.
        if (now - (this.#rateLoggedAt.get(ws) ?? 0) >= 10_000) {
          this.#rateLoggedAt.set(ws, now);
          log("rate_limited", { room: this.#logName, user: state.user?.id });
        }
        return `Slow down: at most ${rate.burst} frames at once, then ${rate.perSecond} per second. That frame was dropped.`;
      }
    }
    if (state.ip === null || this.#ipFrames === null) return null;
    const wait = this.#ipFrames.admit(kind === "signal" ? `signal ${state.ip}` : state.ip, now);
    if (wait === null) return null;
    return `Too many frames from your address, in all rooms together; try again in ${wait} s. That frame was dropped.`;
  }

  /**
   * An edit, or a member's deletion, against the room's budget for them:
   * each takes a message's words out of the search index's pages, the
   * costliest write a member can ask for, so the room takes only so many a
   * second from everyone together. Beyond it the frame is refused, saying
   * when to try again.
   */
  edit(now: number): OverBudget {
    const rate = this.#rules.editRate;
    this.#edits ??= fullBucket(rate, now);
    if (takeToken(this.#edits, rate, now)) return null;
    const seconds = Math.max(1, Math.ceil(msUntilToken(this.#edits, rate, now) / 1000));
    return `Many edits and deletions are being made in this room right now; try again in ${seconds} s.`;
  }

  /** One more refusal: false when the socket has spent them all (to be closed). */
  refusal(ws: WebSocket, now: number): boolean {
    return takeToken(this.#budgetsOf(ws, now).refusals, this.#rules.refusalBudget, now);
  }

  #budgetsOf(ws: WebSocket, now: number): { frames: Bucket; refusals: Bucket } {
    let budgets = this.#budgets.get(ws);
    if (budgets === undefined) {
      budgets = {
        frames: fullBucket(this.#rules.frameBudget, now),
        refusals: fullBucket(this.#rules.refusalBudget, now),
      };
      this.#budgets.set(ws, budgets);
    }
    return budgets;
  }
}
