/**
 * What a line typed into a chat (the page's composer, the terminal's prompt)
 * asks for: a message, an action, or one of the IRC-style commands. Shared by
 * both clients, so that `/me`, `/nick` and `//` mean the same everywhere; each
 * client decides how to answer `who`, `help`, `quit` and the rest.
 */
import { parseEmoji, type RoomSettings } from "./protocol";

export type Command =
  /** `replyTo`: `/reply ID text` answers message ID. */
  | { kind: "message"; text: string; action: boolean; replyTo?: number }
  | { kind: "nick"; nick: string }
  /** The owner makes someone a moderator (`/mod nick`), or a member again (`/unmod nick`). */
  | { kind: "role"; nick: string; role: "moderator" | "member" }
  /** A moderator removes someone: "nick [reason]", or for a ban "nick [minutes] [reason]". */
  | { kind: "kick"; words: string }
  | { kind: "ban"; words: string }
  /** A moderator lists the bans, or lifts one by its id. */
  | { kind: "bans" }
  | { kind: "modlog" }
  /** The owner replaces the owner key. */
  | { kind: "newkey" }
  /** A moderator changes the room's settings; `/topic` alone asks what the topic is. */
  | { kind: "settings"; changes: Partial<RoomSettings> }
  | { kind: "topic" }
  | { kind: "unban"; ban: string }
  /** Change the text of our newest message. */
  | { kind: "edit"; text: string }
  /** `/react 👍` on the newest message, `/react 👍 42` on message 42 (again: takes it back). */
  | { kind: "react"; emoji: string; id?: number }
  | { kind: "search"; query: string }
  /** Delete a message: ours, the newest (no id), or any by id. */
  | { kind: "delete"; id?: number }
  /** The owner deletes the whole history (`/clearhistory yes`: it cannot be undone). */
  | { kind: "clear" }
  /** Show message ids (the terminal: for `/delete id`). */
  | { kind: "ids"; on: boolean }
  | { kind: "who" }
  | { kind: "help" }
  | { kind: "quit" }
  /** Share a file: a path in the terminal (the page has its own ways). */
  | { kind: "send"; path: string }
  /** A known command used wrongly: the text says how to use it. */
  | { kind: "usage"; text: string }
  | { kind: "unknown"; name: string };

/** `line` must be trimmed and not empty. */
export function parseCommand(line: string): Command {
  if (!line.startsWith("/")) return { kind: "message", text: line, action: false };
  if (line.startsWith("//")) return { kind: "message", text: line.slice(1), action: false };
  const [, name = "", rest = ""] = /^\/(\S*)\s*([\s\S]*)$/.exec(line) ?? [];
  switch (name.toLowerCase()) {
    case "me":
      return rest === "" ? { kind: "usage", text: "Usage: /me waves" } : { kind: "message", text: rest, action: true };
    case "reply":
    case "re": {
      const [, id = "", text = ""] = /^#?(\d+)\s+([\s\S]+)$/.exec(rest) ?? [];
      const replyTo = Number(id);
      return Number.isSafeInteger(replyTo) && replyTo >= 1 && text !== ""
        ? { kind: "message", text, action: false, replyTo }
        : { kind: "usage", text: "Usage: /reply id text (see /ids on)" };
    }
    case "nick":
      return rest === "" ? { kind: "usage", text: "Usage: /nick new-name" } : { kind: "nick", nick: rest };
    case "mod":
    case "unmod":
      return rest === ""
        ? { kind: "usage", text: `Usage: /${name.toLowerCase()} nickname` }
        : { kind: "role", nick: rest, role: name.toLowerCase() === "mod" ? "moderator" : "member" };
    case "kick":
      return rest === "" ? { kind: "usage", text: "Usage: /kick nickname [reason]" } : { kind: "kick", words: rest };
    case "ban":
      return rest === ""
        ? { kind: "usage", text: "Usage: /ban nickname [minutes] [reason] (no minutes: for good)" }
        : { kind: "ban", words: rest };
    case "bans":
      return { kind: "bans" };
    case "modlog":
      return { kind: "modlog" };
    case "newkey":
      return { kind: "newkey" };
    case "topic":
      if (rest === "") return { kind: "topic" };
      return { kind: "settings", changes: { topic: rest === "-" ? "" : rest } };
    case "lock":
    case "unlock":
      return { kind: "settings", changes: { locked: name.toLowerCase() === "lock" } };
    case "slow": {
      const seconds = /^\d+$/.test(rest) ? Number(rest) : Number.NaN;
      return Number.isSafeInteger(seconds)
        ? { kind: "settings", changes: { slowModeSeconds: seconds } }
        : { kind: "usage", text: "Usage: /slow seconds (0 turns slow mode off)" };
    }
    case "files":
    case "calls": {
      const on = rest.toLowerCase();
      if (on !== "on" && on !== "off") return { kind: "usage", text: `Usage: /${name.toLowerCase()} on|off` };
      return { kind: "settings", changes: { [name.toLowerCase()]: on === "on" } };
    }
    case "unban":
      return rest === "" ? { kind: "usage", text: "Usage: /unban ban-id (from /bans)" } : { kind: "unban", ban: rest };
    case "edit":
      return rest === ""
        ? { kind: "usage", text: "Usage: /edit new text (changes your last message)" }
        : { kind: "edit", text: rest };
    case "react": {
      const [first = "", second] = rest.split(/\s+/);
      const emoji = parseEmoji(first);
      const id = second === undefined ? undefined : Number(second.replace("#", ""));
      if (emoji === null || (id !== undefined && !(Number.isSafeInteger(id) && id >= 1)))
        return {
          kind: "usage",
          text: "Usage: /react 👍 (on the newest message), or /react 👍 id; again takes it back",
        };
      return id === undefined ? { kind: "react", emoji } : { kind: "react", emoji, id };
    }
    case "search":
    case "find":
      return rest === ""
        ? { kind: "usage", text: "Usage: /search words (finds messages with words that start so)" }
        : { kind: "search", query: rest };
    case "delete":
    case "del": {
      if (rest === "") return { kind: "delete" };
      const id = /^#?\d+$/.test(rest) ? Number(rest.replace("#", "")) : Number.NaN;
      return Number.isSafeInteger(id) && id >= 1
        ? { kind: "delete", id }
        : { kind: "usage", text: "Usage: /delete (your last message), or /delete id (see /ids on)" };
    }
    case "clearhistory":
      return rest.toLowerCase() === "yes"
        ? { kind: "clear" }
        : {
            kind: "usage",
            text: "/clearhistory deletes every message and file of the room, for everyone, for good. To do it: /clearhistory yes",
          };
    case "ids": {
      const on = rest.toLowerCase();
      return on === "on" || on === "off"
        ? { kind: "ids", on: on === "on" }
        : { kind: "usage", text: "Usage: /ids on|off" };
    }
    case "send":
      return rest === "" ? { kind: "usage", text: "Usage: /send path/to/file" } : { kind: "send", path: rest };
    case "who":
    case "names":
      return { kind: "who" };
    case "help":
    case "?":
      return { kind: "help" };
    case "quit":
    case "exit":
    case "q":
      return { kind: "quit" };
    default:
      return { kind: "unknown", name };
  }
}
