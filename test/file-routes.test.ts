/**
 * Files in rooms: uploads streamed to the R2 bucket (the runtime's local R2),
 * announced in the room, served back with safe headers, and deleted with
 * their messages. Limits here (vitest.config.ts): 256 KiB per file, 600,000
 * bytes per room, 3 uploads per address per minute, 50 messages kept.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { isInlineImage } from "../src/shared/files";
import { windowEnd } from "../src/worker/ip-rate-limit";
import type { MessageFrame } from "../src/shared/protocol";
import { ORIGIN, TestSocket, aliceAndBob, freshRoom } from "./socket";

const MAX_FILE_BYTES = 262_144;

interface Upload {
  room: string;
  session?: string | undefined;
  name?: string;
  type?: string;
  body: BodyInit | null;
  headers?: Record<string, string>;
}

function upload({ room, session, name, type, body, headers = {} }: Upload): Promise<Response> {
  const query = name === undefined ? "" : `?name=${encodeURIComponent(name)}`;
  const all: Record<string, string> = { ...headers };
  if (session !== undefined) all.Authorization = `Bearer ${session}`;
  if (type !== undefined) all["Content-Type"] = type;
  return exports.default.fetch(`${ORIGIN}/api/rooms/${room}/files${query}`, { method: "POST", body, headers: all });
}

const download = (url: string, headers: Record<string, string> = {}) =>
  exports.default.fetch(`${ORIGIN}${url}`, { headers });

/** Objects the room has in the bucket. */
async function storedKeys(room: string): Promise<string[]> {
  return (await env.FILES.list({ prefix: `${room}/` })).objects.map((o) => o.key);
}

/** `n` bytes of every value, in a pattern no stream slip would keep. */
function bytes(n: number): Uint8Array {
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = (i * 7 + (i >> 8)) & 0xff;
  return data;
}

const PNG = new Uint8Array([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 1, 2, 3,
]);

async function shared(response: Response) {
  expect(response.status, await response.clone().text()).toBe(201);
  return response.json<{ file: NonNullable<MessageFrame["file"]>; message: number }>();
}

describe("uploading a file", () => {
  it("round-trips binary data byte for byte, and both members get the message", async () => {
    const { room, alice, aliceWelcome, bob } = await aliceAndBob(freshRoom("files"));
    const data = bytes(200_000);
    const answer = await shared(
      await upload({
        room,
        session: aliceWelcome.session,
        name: "data.bin",
        type: "application/octet-stream",
        body: data,
      }),
    );
    expect(answer.file).toMatchObject({ name: "data.bin", size: 200_000, type: "application/octet-stream" });
    expect(answer.file.id).toMatch(/^[a-z2-7]{26}$/);
    expect(answer.file.url).toBe(`/api/rooms/${room}/files/${answer.file.id}`);

    for (const socket of [alice, bob]) {
      const message = await socket.expect("message");
      expect(message).toMatchObject({ id: answer.message, from: aliceWelcome.you, text: "", file: answer.file });
    }
    const response = await download(answer.file.url);
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Length")).toBe("200000");
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(data);
    expect(await storedKeys(room)).toEqual([`${room}/${answer.file.id}`]);
  });

  it("takes a 0-byte file", async () => {
    const { room, aliceWelcome, bob } = await aliceAndBob(freshRoom("files"));
    const answer = await shared(
      await upload({
        room,
        session: aliceWelcome.session,
        name: "empty.txt",
        type: "text/plain",
        body: new Uint8Array(0),
      }),
    );
    expect(answer.file).toMatchObject({ name: "empty.txt", size: 0, type: "text/plain" });
    expect((await bob.expect("message")).file?.size).toBe(0);
    const response = await download(answer.file.url);
    expect(response.status).toBe(200);
    expect((await response.arrayBuffer()).byteLength).toBe(0);
  });

  it("shows files in the history of whoever joins later, like messages", async () => {
    const { room, aliceWelcome } = await aliceAndBob(freshRoom("files"));
    const answer = await shared(
      await upload({ room, session: aliceWelcome.session, name: "photo.png", type: "image/png", body: PNG }),
    );
    const [, carol] = await TestSocket.join(room, "Carol");
    expect(carol.history.at(-1)).toMatchObject({ id: answer.message, text: "", file: answer.file });
    expect(isInlineImage(answer.file.type)).toBe(true);
  });

  it("uses the uploader's current nick", async () => {
    const { room, alice, aliceWelcome, bob } = await aliceAndBob(freshRoom("files"));
    alice.send({ type: "nick", nick: "Alicia" });
    await bob.expect("renamed");
    await shared(await upload({ room, session: aliceWelcome.session, name: "a.txt", body: "hi" }));
    expect((await bob.expect("message")).from).toEqual({ id: aliceWelcome.you.id, nick: "Alicia" });
  });
});

describe("refused uploads", () => {
  it("over MAX_FILE_BYTES: 413 before reading, nothing stored, no message", async () => {
    const { room, aliceWelcome, bob } = await aliceAndBob(freshRoom("files"));
    const response = await upload({
      room,
      session: aliceWelcome.session,
      name: "big.bin",
      body: bytes(MAX_FILE_BYTES + 1),
    });
    expect(response.status).toBe(413);
    const body = await response.json<{ error: string; message: string }>();
    expect(body.error).toBe("file_too_large");
    expect(body.message).toBe("big.bin is 262,145 bytes; files are limited to 262,144 bytes.");
    expect(await storedKeys(room)).toEqual([]);
    // Exactly the limit is fine.
    await shared(await upload({ room, session: aliceWelcome.session, name: "max.bin", body: bytes(MAX_FILE_BYTES) }));
    expect((await bob.expect("message")).file?.name).toBe("max.bin");
  });

  it("without a session, or with one that is not of someone in this room now: 403", async () => {
    const { room, alice, aliceWelcome, bob, bobWelcome } = await aliceAndBob(freshRoom("files"));
    const [, elsewhere] = await TestSocket.join(freshRoom("files"), "Dave");
    for (const session of [undefined, "", "not-a-session", elsewhere.session]) {
      const response = await upload({ room, session, name: "x.txt", body: "x" });
      expect(response.status, String(session)).toBe(403);
      expect(await response.json()).toMatchObject({ error: "not_a_member" });
    }
    // Bob leaves: his session no longer uploads, though it could rejoin.
    bob.close();
    await alice.expect("left");
    const response = await upload({ room, session: bobWelcome.session, name: "x.txt", body: "x" });
    expect(response.status).toBe(403);
    expect(aliceWelcome.session).not.toBe(bobWelcome.session);
    expect(await storedKeys(room)).toEqual([]);
  });

  it("without a name (400), without a Content-Length (411), or into a bad room (400)", async () => {
    const { room, aliceWelcome } = await aliceAndBob(freshRoom("files"));
    const session = aliceWelcome.session;
    expect((await upload({ room, session, body: "x" })).status).toBe(400);
    expect(await (await upload({ room, session, name: "  ", body: "x" })).json()).toMatchObject({
      error: "bad_file_name",
    });
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("streamed"));
        controller.close();
      },
    });
    const chunked = await upload({ room, session, name: "s.txt", body: stream });
    expect(chunked.status).toBe(411);
    expect(await chunked.json()).toMatchObject({ error: "length_required" });
    const badRoom = await upload({ room: "-bad-", session, name: "x.txt", body: "x" });
    expect(badRoom.status).toBe(400);
    expect(await badRoom.json()).toMatchObject({ error: "bad_room" });
    expect(await storedKeys(room)).toEqual([]);
  });

  // (The runtime reports this test's deliberately short request body as an
  // uncaught "Network connection lost" on the sending side: expected noise.)
  it("whose body ends before its Content-Length: 400, nothing stored, its bytes freed", async () => {
    const { room, aliceWelcome, bob } = await aliceAndBob(freshRoom("files"));
    const session = aliceWelcome.session;
    const short = new ReadableStream({
      start(controller) {
        controller.enqueue(bytes(1000));
        controller.close();
      },
    });
    const response = await upload({
      room,
      session,
      name: "cut.bin",
      body: short,
      headers: { "Content-Length": "200000" },
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "upload_incomplete" });
    for (let attempt = 0; attempt < 50 && (await storedKeys(room)).length > 0; attempt++)
      await new Promise((r) => setTimeout(r, 20));
    expect(await storedKeys(room)).toEqual([]);
    // The 200,000 bytes it reserved are free again: 2 × 262,144 fit in 600,000.
    await shared(await upload({ room, session, name: "whole.bin", body: bytes(262_144) }));
    await shared(await upload({ room, session, name: "whole2.bin", body: bytes(262_144) }));
    expect((await bob.expect("message")).file?.name).toBe("whole.bin");
  });

  it("past the room's quota: 507, nothing stored; uploads under way count", async () => {
    const { room, aliceWelcome, bobWelcome, bob } = await aliceAndBob(freshRoom("files"));
    const session = aliceWelcome.session;
    await shared(await upload({ room, session, name: "one.bin", body: bytes(250_000) }));
    await shared(await upload({ room, session, name: "two.bin", body: bytes(250_000) }));
    const response = await upload({ room, session, name: "three.bin", body: bytes(100_001) });
    expect(response.status).toBe(507);
    const body = await response.json<{ error: string; message: string }>();
    expect(body.error).toBe("room_storage_full");
    expect(body.message).toContain("This room's files take 500 kB of its 600 kB, so 100 kB more do not fit.");
    expect(await storedKeys(room)).toHaveLength(2);
    // (Bob's: Alice has used her hourly budget up.)
    await shared(await upload({ room, session: bobWelcome.session, name: "fits.bin", body: bytes(100_000) }));
    expect((await bob.expect("message")).file?.name).toBe("one.bin");
  });

  it("too many from one address: 429 with Retry-After, counted across rooms", async () => {
    // The count resets at each minute's end: start well inside a window.
    const untilReset = windowEnd(Date.now()) - Date.now();
    if (untilReset < 5000) await new Promise((resolve) => setTimeout(resolve, untilReset + 50));
    const ip = "203.0.113.177";
    const first = await aliceAndBob(freshRoom("files"));
    const second = await aliceAndBob(freshRoom("files"));
    const headers = { "CF-Connecting-IP": ip };
    // A malformed request costs no quota.
    expect((await upload({ room: first.room, session: first.aliceWelcome.session, body: "x", headers })).status).toBe(
      400,
    );
    for (const { room, aliceWelcome } of [first, second, first]) {
      await shared(await upload({ room, session: aliceWelcome.session, name: "x.txt", body: "x", headers }));
    }
    const refused = await upload({
      room: second.room,
      session: second.aliceWelcome.session,
      name: "x.txt",
      body: "x",
      headers,
    });
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ error: "rate_limited" });
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(await storedKeys(second.room)).toHaveLength(1);
  });
});

describe("file names", () => {
  const cases: [string, string][] = [
    ["../../etc/passwd", "_.._etc_passwd"],
    ["C:\\Users\\me\\photo.jpg", "C__Users_me_photo.jpg"],
    ['say "hi".txt', "say _hi_.txt"],
    ["two\nlines\r\n.txt", "twolines.txt"],
    ["invoice\u202Egpj.exe", "invoicegpj.exe"],
    ["<img src=x onerror=alert(1)>.html", "_img src=x onerror=alert(1)_.html"],
    ["...hidden", "hidden"],
    ["NUL.txt", "_NUL.txt"],
    ["résumé 東京.pdf", "résumé 東京.pdf"],
    ["\u0000\u0001", "file"],
  ];

  it("are cleaned: no separators, quotes, line breaks, bidi overrides or markup survive", async () => {
    const { room, aliceWelcome } = await aliceAndBob(freshRoom("files"));
    for (const [raw, clean] of cases) {
      const answer = await shared(await upload({ room, session: aliceWelcome.session, name: raw, body: "x" }));
      expect(answer.file.name, JSON.stringify(raw)).toBe(clean);
      const disposition = (await download(answer.file.url)).headers.get("Content-Disposition")!;
      expect(disposition).toMatch(/^attachment; filename="[\x20-\x7e]*"; filename\*=UTF-8''[\x21-\x7e]+$/);
      expect(disposition).not.toMatch(/[\r\n]|\.\.\//);
      expect(decodeURIComponent(disposition.split("UTF-8''")[1]!)).toBe(clean);
    }
  });

  it("keep their extension when cut to 120 characters", async () => {
    const { room, aliceWelcome } = await aliceAndBob(freshRoom("files"));
    const answer = await shared(
      await upload({ room, session: aliceWelcome.session, name: `${"a".repeat(300)}.tar.gz`, body: "x" }),
    );
    expect([...answer.file.name]).toHaveLength(120);
    expect(answer.file.name.endsWith("a.gz")).toBe(true);
  });
});

describe("downloading a file", () => {
  async function sharedFile(name: string, type: string, body: BodyInit) {
    const { room, aliceWelcome } = await aliceAndBob(freshRoom("files"));
    return (await shared(await upload({ room, session: aliceWelcome.session, name, type, body }))).file;
  }

  it("shows a real image inline, with nosniff and a sandboxing CSP", async () => {
    const file = await sharedFile("dot.png", "image/png", PNG);
    expect(file.type).toBe("image/png");
    const response = await download(file.url);
    expect(response.headers.get("Content-Type")).toBe("image/png");
    expect(response.headers.get("Content-Disposition")).toMatch(/^inline; /);
    expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(response.headers.get("Content-Security-Policy")).toContain("sandbox");
    expect(response.headers.get("Content-Security-Policy")).toContain("default-src 'none'");
  });

  it("finds the image type from the bytes, whatever the upload said", async () => {
    const file = await sharedFile("dot", "application/octet-stream", PNG);
    expect(file.type).toBe("image/png");
    expect((await download(file.url)).headers.get("Content-Disposition")).toMatch(/^inline; /);
  });

  it("serves an HTML file, an SVG with script and HTML posing as a PNG as downloads, never as pages", async () => {
    const html = await sharedFile("page.html", "text/html", "<!doctype html><script>alert(document.cookie)</script>");
    const svg = await sharedFile(
      "logo.svg",
      "image/svg+xml",
      '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    );
    const fake = await sharedFile("cat.png", "image/png", "<html><script>alert(1)</script></html>");
    expect([html.type, svg.type, fake.type]).toEqual(["text/html", "image/svg+xml", "application/octet-stream"]);
    for (const file of [html, svg, fake]) {
      expect(isInlineImage(file.type)).toBe(false);
      const response = await download(file.url);
      expect(response.headers.get("Content-Type"), file.name).toBe("application/octet-stream");
      expect(response.headers.get("Content-Disposition"), file.name).toMatch(/^attachment; filename="/);
      expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
      expect(response.headers.get("Content-Security-Policy")).toContain("sandbox");
    }
  });

  it("answers ranges with 206 and the exact bytes, and an impossible range with 416", async () => {
    const data = bytes(100_000);
    const file = await sharedFile("data.bin", "application/octet-stream", data);
    const part = await download(file.url, { Range: "bytes=1000-1999" });
    expect(part.status).toBe(206);
    expect(part.headers.get("Content-Range")).toBe("bytes 1000-1999/100000");
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(data.slice(1000, 2000));
    const open = await download(file.url, { Range: "bytes=99990-" });
    expect(open.headers.get("Content-Range")).toBe("bytes 99990-99999/100000");
    expect(new Uint8Array(await open.arrayBuffer())).toEqual(data.slice(99_990));
    const suffix = await download(file.url, { Range: "bytes=-5" });
    expect(suffix.status).toBe(206);
    expect(new Uint8Array(await suffix.arrayBuffer())).toEqual(data.slice(-5));
    const past = await download(file.url, { Range: "bytes=200000-" });
    expect(past.status).toBe(416);
    expect(past.headers.get("Content-Range")).toBe("bytes */100000");
    // Several ranges at once: the whole file (allowed, and simpler for everyone).
    const several = await download(file.url, { Range: "bytes=0-1,5-6" });
    expect(several.status).toBe(200);
    expect((await several.arrayBuffer()).byteLength).toBe(100_000);
  });

  it("has an ETag and long caching, and answers a matching If-None-Match with 304", async () => {
    const file = await sharedFile("a.txt", "text/plain", "hello");
    const first = await download(file.url);
    const etag = first.headers.get("ETag")!;
    expect(etag).toMatch(/^"[^"]+"$/);
    expect(first.headers.get("Cache-Control")).toContain("immutable");
    expect(first.headers.get("Accept-Ranges")).toBe("bytes");
    expect(await first.text()).toBe("hello");
    const again = await download(file.url, { "If-None-Match": etag });
    expect(again.status).toBe(304);
    expect((await download(file.url, { "If-None-Match": '"other"' })).status).toBe(200);
  });

  it("says 404 for an unknown id, a malformed one, or the right id in another room", async () => {
    const file = await sharedFile("a.txt", "text/plain", "hello");
    const wrongRoom = file.url.replace(/\/rooms\/[^/]+\//, "/rooms/elsewhere/");
    for (const url of [
      file.url.replace(/[a-z2-7]{26}$/, "a".repeat(26)),
      `${file.url}x`,
      file.url.replace(/[a-z2-7]{26}$/, "..%2F..%2Fx"),
      wrongRoom,
    ]) {
      const response = await download(url);
      expect(response.status, url).toBe(404);
      expect(await response.json()).toMatchObject({ error: "file_not_found" });
    }
  });
});

describe("an upload that never finishes", () => {
  it("is given up after an hour: its bytes are freed, and finishing it late is refused (408)", async () => {
    const { room, aliceWelcome, bob } = await aliceAndBob(freshRoom("files"));
    const stub = env.ROOMS.getByName(room);
    const started = await stub.startUpload({
      session: aliceWelcome.session,
      name: "stuck.bin",
      size: 500_000,
      type: "application/octet-stream",
    });
    expect(started.ok).toBe(true);
    const id = (started as { id: string }).id;
    // Its 500,000 bytes are reserved: 200,000 more do not fit in 600,000.
    expect((await upload({ room, session: aliceWelcome.session, name: "more.bin", body: bytes(200_000) })).status).toBe(
      507,
    );
    // An hour and a bit later (the clock moved back on its row)…
    await runInDurableObject(stub, (_, state) => {
      state.storage.sql.exec("UPDATE files SET created = created - 3700000 WHERE id = ?", id);
    });
    await shared(await upload({ room, session: aliceWelcome.session, name: "more.bin", body: bytes(200_000) }));
    expect((await bob.expect("message")).file?.name).toBe("more.bin");
    const late = await stub.finishUpload(id, "application/octet-stream");
    expect(late).toMatchObject({ ok: false, status: 408, error: "upload_timeout" });
  });
});

describe("an upload that finishes after it was given up", () => {
  it("is refused with 408 and its object deleted, not left stored and counted nowhere", async () => {
    const { room, aliceWelcome } = await aliceAndBob(freshRoom("files"));
    const stub = env.ROOMS.getByName(room);
    const data = bytes(100_000);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(data.subarray(0, 50_000));
        await released; // the rest only once the room has given the upload up
        controller.enqueue(data.subarray(50_000));
        controller.close();
      },
    });
    const answer = exports.default.fetch(`${ORIGIN}/api/rooms/${room}/files?name=slow.bin`, {
      method: "POST",
      body,
      headers: { Authorization: `Bearer ${aliceWelcome.session}`, "Content-Length": "100000" },
      duplex: "half",
    } as RequestInit);
    // Wait for the room to have the upload, then move it an hour and a bit back and let the alarm give it up.
    let pending = 0;
    for (let i = 0; i < 100 && pending === 0; i++) {
      pending = await runInDurableObject(
        stub,
        (_, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM files").one().n,
      );
      if (pending === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await runInDurableObject(
      stub,
      (_, state) => void state.storage.sql.exec("UPDATE files SET created = created - 3700000"),
    );
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    release();
    const response = await answer;
    expect(response.status).toBe(408);
    expect(await response.json()).toMatchObject({ error: "upload_timeout" });
    expect(await storedKeys(room)).toEqual([]);
  });

  it("is swept by the alarm even when no other upload comes", async () => {
    const { room, aliceWelcome } = await aliceAndBob(freshRoom("files"));
    const stub = env.ROOMS.getByName(room);
    const started = await stub.startUpload({
      session: aliceWelcome.session,
      name: "stuck.bin",
      size: 500_000,
      type: "application/octet-stream",
    });
    expect(started.ok).toBe(true);
    // Whatever the alarm rang for first (the join deadline), it is then set
    // for when the upload would be given up.
    await runDurableObjectAlarm(stub);
    const alarm = await runInDurableObject(stub, (_, state) => state.storage.getAlarm());
    expect(alarm! - Date.now()).toBeGreaterThan(3_500_000);
    await runInDurableObject(
      stub,
      (_, state) => void state.storage.sql.exec("UPDATE files SET created = created - 3700000"),
    );
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const left = await runInDurableObject(
      stub,
      (_, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM files").one().n,
    );
    expect(left).toBe(0); // given up, its (absent) object deleted, its row forgotten
  });
});

describe("the hourly upload budget per person and per address", () => {
  it("stops one person from filling the room, with 429 and Retry-After, while others can still share", async () => {
    const { room, aliceWelcome, bobWelcome, bob } = await aliceAndBob(freshRoom("files"));
    for (const name of ["one.bin", "two.bin"]) {
      await shared(await upload({ room, session: aliceWelcome.session, name, body: bytes(250_000) }));
      await bob.expect("message");
    }
    // 500,000 shared of UPLOAD_BYTES_PER_HOUR (550,000): 100,000 more do not fit.
    const refused = await upload({ room, session: aliceWelcome.session, name: "three.bin", body: bytes(100_000) });
    expect(refused.status).toBe(429);
    expect(await refused.json()).toEqual({
      error: "upload_budget_exceeded",
      message: expect.stringMatching(
        /^You have shared 500 kB here in the last hour, and each person may share 550 kB an hour.*Try again in \d+ min/,
      ),
    });
    const retryAfter = Number(refused.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThan(3000);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    // Bob still can (the room's quota, 600,000, has room for him).
    await shared(await upload({ room, session: bobWelcome.session, name: "bob.bin", body: bytes(100_000) }));
  });

  it("counts the identities of one address together", async () => {
    const room = freshRoom("files");
    const ip = "198.51.100.200";
    const alice = await TestSocket.open(room, { "CF-Connecting-IP": ip });
    const aliceWelcome = await alice.joinAs("Alice");
    const again = await TestSocket.open(room, { "CF-Connecting-IP": ip });
    const otherWelcome = await again.joinAs("Alice two");
    await shared(await upload({ room, session: aliceWelcome.session, name: "a.bin", body: bytes(250_000) }));
    await shared(await upload({ room, session: otherWelcome.session, name: "b.bin", body: bytes(250_000) }));
    const refused = await upload({ room, session: otherWelcome.session, name: "c.bin", body: bytes(60_000) });
    expect(refused.status).toBe(429);
    expect((await refused.json<{ message: string }>()).message).toMatch(/^Your address has shared 500 kB/);
  });
});

describe("deleting a file's message", () => {
  it("deletes its object from R2: the download is gone, and so is the file from every history", async () => {
    const { room, alice, aliceWelcome, bob } = await aliceAndBob(freshRoom("files"));
    const answer = await shared(
      await upload({ room, session: aliceWelcome.session, name: "oops.txt", type: "text/plain", body: "private" }),
    );
    await bob.expect("message");
    await alice.expect("message");
    expect(await storedKeys(room)).toHaveLength(1);
    alice.send({ type: "delete", id: answer.message });
    expect(await bob.expect("deleted")).toMatchObject({ target: answer.message });
    // The object goes as soon as R2 answers: bounded polling, generous on a busy machine.
    for (let attempt = 0; attempt < 200 && (await storedKeys(room)).length > 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(await storedKeys(room)).toEqual([]);
    expect((await download(answer.file.url)).status).toBe(404);
    const [, welcome] = await TestSocket.join(room, "Later");
    expect(welcome.history).toEqual([
      { type: "message", id: answer.message, ts: expect.any(Number), from: aliceWelcome.you, text: "", deleted: true },
    ]);
  });
});

describe("retention", () => {
  it("deletes a file's object, and frees its bytes, when its message is deleted", async () => {
    const { room, aliceWelcome, bob } = await aliceAndBob(freshRoom("files"));
    const session = aliceWelcome.session;
    const answer = await shared(await upload({ room, session, name: "old.bin", body: bytes(250_000) }));
    await bob.expect("message");
    // 50 messages are kept (HISTORY_RETENTION in the tests): 50 more push the
    // file out. Six senders of nine each stay within each one's burst of 10
    // frames (their join is one).
    for (let sender = 0; sender < 6; sender++) {
      const [socket] = await TestSocket.join(room, `Sender${sender}`);
      for (let i = 0; i < 9; i++) socket.send({ type: "message", text: `m${i}` });
    }
    let received = 0;
    while (received < 49) if ((await bob.next()).type === "message") received++;
    expect(await storedKeys(room)).toHaveLength(1); // kept while its message is
    while (received < 50) if ((await bob.next()).type === "message") received++;
    for (let attempt = 0; attempt < 50 && (await storedKeys(room)).length > 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await storedKeys(room)).toEqual([]);
    expect((await download(answer.file.url)).status).toBe(404);
    // The quota counts it no more: 3 × 250,000 would not fit in 600,000.
    await shared(await upload({ room, session, name: "new.bin", body: bytes(250_000) }));
    await shared(await upload({ room, session, name: "new2.bin", body: bytes(250_000) }));
  });
});
