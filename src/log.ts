/**
 * Structured logs: one JSON object per event, readable in `wrangler tail` and
 * Workers Logs, and easy to filter by `event`. They carry ids, room names and
 * codes, never what people wrote: message text stays out of the logs.
 */

export type LogEvent =
  | "join"
  | "leave"
  | "take_over"
  | "rate_limited"
  | "ip_rate_limited"
  | "frame_too_large"
  | "room_full"
  | "socket_error"
  | "internal_error"
  | "config_error"
  | "file_shared"
  | "files_deleted"
  | "upload_refused"
  | "room_storage_full";

type Fields = Record<string, string | number | boolean | undefined>;

export function log(event: LogEvent, fields: Fields = {}): void {
  const level = event === "internal_error" || event === "config_error" ? "error" : "info";
  (level === "error" ? console.error : console.log)({ event, ...fields });
}
