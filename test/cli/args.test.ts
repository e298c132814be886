/** The command line and the room URL, without starting anything. */
import { describe, expect, it } from "vitest";
import { parseArgs, parseRoomUrl } from "../../cli/args";
import { parseCommand } from "../../src/shared/commands";

describe("room URLs", () => {
  it("accepts the page and the socket URL, over http(s) and ws(s)", () => {
    const lobby = {
      ok: true,
      room: "lobby",
      socketUrl: "ws://localhost:8787/api/rooms/lobby/websocket",
      httpBase: "http://localhost:8787",
    };
    expect(parseRoomUrl("http://localhost:8787/r/lobby")).toEqual(lobby);
    expect(parseRoomUrl("http://localhost:8787/r/lobby/")).toEqual(lobby);
    expect(parseRoomUrl("ws://localhost:8787/api/rooms/lobby/websocket")).toEqual(lobby);
    expect(parseRoomUrl("https://chat.example/r/Team-1?x=1#top")).toEqual({
      ok: true,
      room: "team-1",
      socketUrl: "wss://chat.example/api/rooms/team-1/websocket",
      httpBase: "https://chat.example",
    });
    expect(parseRoomUrl("wss://chat.example/api/rooms/a_b/websocket")).toMatchObject({ ok: true, room: "a_b" });
    // Percent-encoding is decoded before the check, as the Worker does.
    expect(parseRoomUrl("http://h/r/%6cobby")).toMatchObject({ ok: true, room: "lobby" });
  });

  it("refuses what is not a room URL, saying what is expected", () => {
    expect(parseRoomUrl("lobby")).toMatchObject({ ok: false, message: expect.stringContaining("is not a URL") });
    expect(parseRoomUrl("ftp://h/r/lobby")).toMatchObject({
      ok: false,
      message: expect.stringContaining("not an http(s) or ws(s) URL"),
    });
    expect(parseRoomUrl("http://h/rooms/lobby")).toMatchObject({
      ok: false,
      message: expect.stringContaining("http://h/r/<room>"),
    });
  });

  it("checks the room name with the protocol's rule", () => {
    for (const bad of ["bad.room", "-lobby", "a".repeat(65), "%E2%84%AA", "%zz", "lob by"]) {
      expect(parseRoomUrl(`http://h/r/${bad}`), bad).toMatchObject({
        ok: false,
        message: expect.stringContaining("Invalid room name"),
      });
    }
  });
});

describe("arguments", () => {
  const url = "http://localhost:8787/r/lobby";

  it("reads the URL, --nick in every spelling, and --json", () => {
    expect(parseArgs([url])).toMatchObject({ kind: "run", options: { room: "lobby", json: false, given: url } });
    expect(parseArgs([url]).kind === "run" && "nick" in (parseArgs([url]) as { options: object }).options).toBe(false);
    for (const args of [
      [url, "--nick", "Kartik"],
      ["--nick=Kartik", url],
      ["-n", "Kartik", url],
      [url, "--nick", "  Kartik "],
    ]) {
      expect(parseArgs(args), args.join(" ")).toMatchObject({ kind: "run", options: { nick: "Kartik" } });
    }
    expect(parseArgs([url, "--json"])).toMatchObject({ kind: "run", options: { json: true } });
    for (const args of [
      [url, "--download-dir", "got"],
      ["--download-dir=got", url],
      ["-d", "got", url],
    ]) {
      expect(parseArgs(args), args.join(" ")).toMatchObject({ kind: "run", options: { downloadDir: "got" } });
    }
    // The owner key: --owner-key, or an owner link's fragment (the flag wins).
    for (const args of [
      [url, "--owner-key", "k3y"],
      ["--owner-key=k3y", url],
      [`${url}#owner=k3y`],
      [`${url}#owner=other`, "--owner-key", "k3y"],
    ]) {
      expect(parseArgs(args), args.join(" ")).toMatchObject({ kind: "run", options: { ownerKey: "k3y" } });
    }
    expect("ownerKey" in (parseArgs([`${url}#owner=`]) as { options: object }).options).toBe(false);
    expect(parseArgs([url, "--owner-key"])).toMatchObject({ kind: "error", message: /owner key/ });
    expect(parseArgs(["--", url])).toMatchObject({ kind: "run" });
    expect(parseArgs(["--help"])).toEqual({ kind: "help" });
    expect(parseArgs([url, "-h"])).toEqual({ kind: "help" });
  });

  it("refuses missing, unknown and extra arguments, and a bad nickname", () => {
    expect(parseArgs([])).toMatchObject({ kind: "error", message: expect.stringContaining("Which room?") });
    expect(parseArgs([url, "--nick"])).toMatchObject({
      kind: "error",
      message: expect.stringContaining("needs a nickname"),
    });
    expect(parseArgs([url, "--download-dir"])).toMatchObject({
      kind: "error",
      message: expect.stringContaining("needs a folder"),
    });
    expect(parseArgs([url, "--download-dir="])).toMatchObject({
      kind: "error",
      message: expect.stringContaining("needs a folder"),
    });
    expect(parseArgs([url, "--colour"])).toMatchObject({ kind: "error", message: 'Unknown option "--colour".' });
    expect(parseArgs([url, url])).toMatchObject({ kind: "error", message: expect.stringContaining("one room URL") });
    expect(parseArgs([url, "--nick", "   "])).toMatchObject({
      kind: "error",
      message: expect.stringContaining("Invalid nickname"),
    });
    expect(parseArgs([url, "--nick", "a\u202eb"])).toMatchObject({
      kind: "error",
      message: expect.stringContaining("Invalid nickname"),
    });
  });
});

describe("commands", () => {
  it("tells messages, actions and commands apart", () => {
    expect(parseCommand("hello")).toEqual({ kind: "message", text: "hello", action: false });
    expect(parseCommand("//etc/hosts is fine")).toEqual({ kind: "message", text: "/etc/hosts is fine", action: false });
    expect(parseCommand("/me waves")).toEqual({ kind: "message", text: "waves", action: true });
    expect(parseCommand("/ME  waves twice")).toEqual({ kind: "message", text: "waves twice", action: true });
    expect(parseCommand("/nick Kartik S.")).toEqual({ kind: "nick", nick: "Kartik S." });
    expect(parseCommand("/who")).toEqual({ kind: "who" });
    expect(parseCommand("/help")).toEqual({ kind: "help" });
    expect(parseCommand("/quit")).toEqual({ kind: "quit" });
    expect(parseCommand("/send ~/My Photos/cat.jpg")).toEqual({ kind: "send", path: "~/My Photos/cat.jpg" });
    expect(parseCommand("/send")).toMatchObject({ kind: "usage", text: "Usage: /send path/to/file" });
    expect(parseCommand("/me")).toMatchObject({ kind: "usage" });
    expect(parseCommand("/nick")).toMatchObject({ kind: "usage" });
    expect(parseCommand("/usr/bin")).toEqual({ kind: "unknown", name: "usr/bin" });
    expect(parseCommand("/mod Ana B.")).toEqual({ kind: "role", nick: "Ana B.", role: "moderator" });
    expect(parseCommand("/unmod Ana")).toEqual({ kind: "role", nick: "Ana", role: "member" });
    expect(parseCommand("/mod")).toEqual({ kind: "usage", text: "Usage: /mod nickname" });
    expect(parseCommand("/react 👍")).toEqual({ kind: "react", emoji: "👍" });
    expect(parseCommand("/react ❤ #42")).toEqual({ kind: "react", emoji: "❤️", id: 42 });
    for (const bad of ["/react", "/react ok", "/react 👍👍", "/react 👍 x", "/react 👍 0"])
      expect(parseCommand(bad), bad).toMatchObject({ kind: "usage" });
    expect(parseCommand("/search café menu")).toEqual({ kind: "search", query: "café menu" });
    expect(parseCommand("/find x")).toEqual({ kind: "search", query: "x" });
    expect(parseCommand("/search")).toMatchObject({ kind: "usage" });
    expect(parseCommand("/delete")).toEqual({ kind: "delete" });
    expect(parseCommand("/delete 42")).toEqual({ kind: "delete", id: 42 });
    expect(parseCommand("/del #7")).toEqual({ kind: "delete", id: 7 });
    for (const wrong of ["/delete 0", "/delete last", "/delete 4.2"])
      expect(parseCommand(wrong), wrong).toMatchObject({ kind: "usage" });
    // Clearing the history takes a "yes": it cannot be undone.
    expect(parseCommand("/clearhistory")).toMatchObject({ kind: "usage", text: expect.stringContaining("yes") });
    expect(parseCommand("/clearhistory YES")).toEqual({ kind: "clear" });
    expect(parseCommand("/ids on")).toEqual({ kind: "ids", on: true });
    expect(parseCommand("/edit the plan")).toEqual({ kind: "edit", text: "the plan" });
    expect(parseCommand("/edit")).toMatchObject({ kind: "usage" });
    expect(parseCommand("/reply 42 me too")).toEqual({ kind: "message", text: "me too", action: false, replyTo: 42 });
    expect(parseCommand("/re #7 yes")).toEqual({ kind: "message", text: "yes", action: false, replyTo: 7 });
    for (const wrong of ["/reply", "/reply 42", "/reply x hi", "/reply 0 hi"])
      expect(parseCommand(wrong), wrong).toMatchObject({ kind: "usage" });
    expect(parseCommand("/ids")).toMatchObject({ kind: "usage" });
  });
});
