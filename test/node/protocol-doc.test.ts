/**
 * docs/protocol.md is the contract people read: every JSON example in it must
 * be a frame that src/shared/protocol.ts reads the way the page says.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { LIMITS } from "../../src/worker/config";
import { ERROR_CODES, SERVER_FRAME_TYPES, parseClientFrame, parseServerMessage } from "../../src/shared/protocol";

const doc = readFileSync(new URL("../../docs/protocol.md", import.meta.url), "utf8");
const limits = { messageLength: 4000, nickLength: 32 };

/** JSON examples: ```json blocks, and whole-line frames in other blocks after "> ". */
const examples = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((match) => match[1]!.replace(/…/g, ""));

describe("docs/protocol.md", () => {
  it("has an example of every frame type", () => {
    const types = examples.map((text) => (JSON.parse(text) as { type: string }).type);
    for (const type of [
      ...SERVER_FRAME_TYPES,
      "join",
      "nick",
      "call",
      "signal",
      "role",
      "kick",
      "ban",
      "unban",
      "rotate",
      "delete",
      "clear",
      "edit",
      "react",
      "search",
    ])
      expect(types, type).toContain(type);
    expect(examples.length).toBeGreaterThanOrEqual(14);
  });

  it("shows client frames that parse, and server frames the clients read", () => {
    for (const text of examples) {
      const frame = JSON.parse(text) as Record<string, unknown>;
      // ("user" is an object in what the server sends, a user id in what clients
      // send; a client's `delete` names a message by its id.)
      const isServerFrame =
        ("id" in frame && frame.type !== "delete" && frame.type !== "edit" && frame.type !== "react") ||
        typeof frame.user === "object" ||
        "by" in frame ||
        "bans" in frame ||
        "messages" in frame ||
        "from" in frame ||
        frame.type === "welcome" ||
        frame.type === "rotated" ||
        frame.type === "error";
      if (isServerFrame) {
        expect(parseServerMessage(text), text).toHaveLength(1);
        expect(SERVER_FRAME_TYPES.has(frame.type as string), text).toBe(true);
      } else {
        const parsed = parseClientFrame(text, limits);
        expect(parsed.ok, text).toBe(true);
      }
    }
  });

  it("lists every error code", () => {
    for (const code of ERROR_CODES) expect(doc, code).toContain(`| \`${code}\` |`);
  });

  it("lists every refusal of the files API, with its status", () => {
    // The codes as the Worker and the room write them: refuse(status, "code", …), apiError("code", …) and { status, error: "code" }.
    // The files API's modules: the routes, the room's files module, and what every route shares.
    const sources = ["file-routes.ts", "room-files.ts", "api.ts"].map((name) =>
      readFileSync(new URL(`../../src/worker/${name}`, import.meta.url), "utf8"),
    );
    const codes = new Set(
      sources.flatMap((source) =>
        [...source.matchAll(/apiError\("(\w+)"|error: "(\w+)"|refuse\(\d+, "(\w+)"/g)].map(
          (m) => (m[1] ?? m[2] ?? m[3])!,
        ),
      ),
    );
    for (const code of ["file_too_large", "not_a_member", "room_storage_full", "upload_incomplete", "upload_timeout"])
      expect(codes).toContain(code);
    const files = doc.slice(doc.indexOf("## Files"), doc.indexOf("## Sessions"));
    for (const code of codes) {
      if (code === "file_not_found" || code === "bad_range" || code === "internal") continue; // downloads and failures, described in prose
      expect(files, code).toMatch(new RegExp(`\\| \\d{3} \\| \`${code}\` \\|`));
    }
    expect(files).toContain("`404 file_not_found`");
  });

  it("has every error code in docs/security.md too, with every limit variable", () => {
    const security = readFileSync(new URL("../../docs/security.md", import.meta.url), "utf8");
    for (const code of ERROR_CODES) expect(security, code).toContain(`\`${code}\``);
    for (const setting of Object.values(LIMITS)) {
      if (setting.env === "HISTORY_ON_JOIN" || setting.env === "HISTORY_PAGE") continue; // history sizes, not limits on input
      expect(security, setting.env).toContain(setting.env);
    }
  });
});
