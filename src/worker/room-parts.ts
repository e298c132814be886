/**
 * What the room's feature modules (chat.ts, presence.ts, calls.ts,
 * room-files.ts) are handed of the room: they change the room only through
 * these.
 */
import type { Config } from "./config";
import type { Connections } from "./connections";
import type { RoomRules } from "./limits";
import type { RoomStorage } from "./storage";
import type { SlowMode } from "./moderation";
import type { ReadQueue } from "./read-queue";
import type { ErrorCode, MessageFrame, User } from "../shared/protocol";

export interface RoomParts {
  readonly config: Config;
  /** What the room derives from its config, computed once (limits.ts). */
  readonly rules: RoomRules;
  readonly sockets: Connections;
  /** The room's budget for history served to one person (read-queue.ts). */
  readonly reads: ReadQueue;
  /** The room's storage, opened on first use (a room nobody joined writes
   * nothing). A getter: read it only where it is used, never "just in case". */
  readonly store: RoomStorage;
  /** The room's name, and the name its logs use (hashed for private rooms). */
  readonly name: string;
  readonly logName: string;
  /** Answers a frame with an error (counted against the socket's refusals). */
  refuse(ws: WebSocket, code: ErrorCode, message: string, cid?: string): void;
  /** Why not, when the room's settings turn sharing files or the call off (moderation.ts). */
  featureOff(feature: "files" | "calls"): string | null;
  /** Why this member may not post now in slow mode, or null: what they post
   * counts from now (moderation.ts). */
  slowMode(user: User, now: number): SlowMode | null;
  /** Why the room takes no more edits or members' deletions now (its
   * budget for them, limits.ts), or null: this one counts. */
  busyEditing(now: number): string | null;
  /** Sets the room's one alarm for `at`, unless it is set sooner. */
  armAlarm(at: number): void;
  /** Sends a message the room made (not a client's frame) to everyone, stored
   * first with the rest of the turn; false when the write failed and nobody
   * got it. */
  publish(message: MessageFrame): boolean;
}
