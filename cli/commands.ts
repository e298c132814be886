/**
 * What a typed (or piped) line asks for: a message, an action, or one of the
 * IRC-style commands. Pure, so that the rules are unit-tested.
 */

export type Command =
  | { kind: "message"; text: string; action: boolean }
  | { kind: "nick"; nick: string }
  | { kind: "who" }
  | { kind: "help" }
  | { kind: "quit" }
  /** A known command used wrongly: the text says how to use it. */
  | { kind: "usage"; text: string }
  | { kind: "unknown"; name: string };

export const HELP = [
  "/nick NAME   rename yourself",
  "/me ACTION   send an action: /me waves shows as \"* You waves\"",
  "/who         who is in the room",
  "/quit        leave (so do Ctrl-D and Ctrl-C)",
  "/help        this list",
  "A line starting with // sends a message starting with /.",
];

/** `line` must be trimmed and not empty. */
export function parseCommand(line: string): Command {
  if (!line.startsWith("/")) return { kind: "message", text: line, action: false };
  if (line.startsWith("//")) return { kind: "message", text: line.slice(1), action: false };
  const [, name = "", rest = ""] = /^\/(\S*)\s*([\s\S]*)$/.exec(line) ?? [];
  switch (name.toLowerCase()) {
    case "me":
      return rest === "" ? { kind: "usage", text: "Usage: /me waves" } : { kind: "message", text: rest, action: true };
    case "nick":
      return rest === "" ? { kind: "usage", text: "Usage: /nick new-name" } : { kind: "nick", nick: rest };
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
