/**
 * Structured logs: one JSON object per event, readable in `wrangler tail` and
 * Workers Logs, and easy to filter by `event`. They carry ids, room names and
 * codes, never what people wrote: message text stays out of the logs.
 */
import { createHash } from "node:crypto";

export type LogEvent =
  | "join"
  | "leave"
  | "take_over"
  | "rate_limited"
  | "ip_rate_limited"
  | "frame_too_large"
  | "room_full"
  | "too_many_connections"
  | "too_many_errors"
  | "room_expired"
  | "socket_error"
  | "internal_error"
  | "config_error"
  | "file_shared"
  | "files_deleted"
  | "upload_refused"
  | "room_storage_full"
  | "room_claimed"
  | "role"
  | "kick"
  | "ban"
  | "unban"
  | "settings"
  | "delete"
  | "edit"
  | "clear";

/**
 * How a room is named in logs. A private room's name (26 random characters,
 * from POST /api/rooms) is the only thing that keeps strangers out of it, and
 * logs are read by more people than rooms are: such a name is logged as a
 * short hash, enough to follow one room through the logs and useless to
 * enter it. Chosen names ("lobby") are logged as they are.
 */
export function roomForLog(room: string): string {
  if (!/^[a-z2-7]{26}$/.test(room)) return room;
  return `private:${createHash("sha256").update(room).digest("base64url").slice(0, 12)}`;
}

/** A request path with any private room name in it hashed (roomForLog). */
export const pathForLog = (path: string): string => path.replace(/(?<=\/)[a-z2-7]{26}(?=\/|$)/g, roomForLog);

type Fields = Record<string, string | number | boolean | undefined>;

export function log(event: LogEvent, fields: Fields = {}): void {
  const level = event === "internal_error" || event === "config_error" ? "error" : "info";
  (level === "error" ? console.error : console.log)({ event, ...fields });
}
