/**
 * Files in rooms, over HTTP: upload (POST /api/rooms/:room/files) and
 * download (GET /api/rooms/:room/files/:id). The bytes go straight between
 * the client and R2, streamed through the Worker and never held whole; the
 * room's Durable Object only says who may upload, keeps the quota and
 * announces the file (room.ts).
 */
import type { HonoRequest } from "hono";
import { Hono } from "hono/tiny";
import { apiError, countAgainstIpLimit, refuse, type App } from "./api";
import { configOf } from "./config";
import {
  SNIFF_BYTES,
  cleanFileName,
  cleanFileType,
  contentDisposition,
  fileTypeOf,
  tooLargeMessage,
  isFileId,
  isInlineImage,
  servedType,
} from "../shared/files";
import { clientIp } from "./ip-rate-limit";
import { log, roomForLog } from "./log";
import { fileKey } from "./room-files";

export const fileRoutes = new Hono<App>();

/** A download is a file, never a page: no script, no plugin, no styles from
 * elsewhere, and a sandbox in case a browser renders it anyway. */
const FILE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox";

/** The body did not bring the bytes its Content-Length promised. */
class IncompleteBody extends Error {
  override name = "IncompleteBody";
}

/**
 * Upload: the raw bytes as the body, with Content-Length and Content-Type,
 * the file's name in `?name=` and the uploader's session token (from
 * `welcome`) as `Authorization: Bearer <token>`. Every check that needs no
 * body comes first, so a refused upload is never read.
 */
fileRoutes.post("/api/rooms/:room/files", async (c) => {
  const room = c.var.room;
  const { rawName, size, session } = checkUpload(c.req, configOf(c.env).maxFileBytes);
  // Counted after the cheap checks, so that a malformed request costs no quota.
  await countAgainstIpLimit(c, clientIp(c.req.raw.headers), "UPLOAD_RATE_LIMIT", "uploads");

  const name = cleanFileName(rawName);
  const declared = cleanFileType(c.req.header("Content-Type"));
  const stub = c.env.ROOMS.getByName(room);
  const start = await stub.startUpload({ session, name, size, type: declared });
  if (!start.ok) {
    log("upload_refused", { room: roomForLog(room), error: start.error, size });
    const retryAfter = start.retryAfterSeconds;
    refuse(
      start.status,
      start.error,
      start.message,
      retryAfter === undefined ? {} : { "Retry-After": String(retryAfter) },
    );
  }
  let type: string;
  try {
    type = await storeFile(c.env.FILES, fileKey(room, start.id), c.req.raw.body, size, declared, name);
  } catch (error) {
    await stub.abandonUpload(start.id);
    if (!(error instanceof IncompleteBody)) throw error;
    log("upload_refused", { room: roomForLog(room), error: "upload_incomplete", size });
    refuse(400, "upload_incomplete", `The upload ended before its ${size} bytes arrived; please send the file again.`);
  }
  const finish = await stub.finishUpload(start.id, type);
  if (!finish.ok) {
    // Given up while its bytes were on their way (408), or not announced
    // (500): the object is stored, counted nowhere, and so deleted here.
    await c.env.FILES.delete(fileKey(room, start.id));
    refuse(finish.status, finish.error, finish.message);
  }
  return c.json({ file: finish.message.file, message: finish.message.id }, 201);
});

/** The checks of an upload that need no body and no room: its name, its
 * declared size (within `maxBytes`) and the uploader's session token. */
function checkUpload(request: HonoRequest, maxBytes: number): { rawName: string; size: number; session: string } {
  const rawName = request.query("name");
  if (rawName === undefined || rawName.trim() === "") {
    refuse(400, "bad_file_name", "Give the file's name in the query: ?name=photo.jpg");
  }
  const length = request.header("Content-Length");
  if (length === undefined) {
    refuse(411, "length_required", "Send the file with a Content-Length header (a file body, not a stream).");
  }
  if (!/^\d{1,16}$/.test(length)) refuse(400, "bad_length", "Content-Length must be a number of bytes.");
  const size = Number(length);
  if (size > maxBytes) refuse(413, "file_too_large", tooLargeMessage(cleanFileName(rawName), size, maxBytes));
  const session = /^Bearer ([\x21-\x7e]{1,128})$/.exec(request.header("Authorization") ?? "")?.[1];
  if (session === undefined) {
    const message =
      "Only people in the room can share files: send your session token from welcome as Authorization: Bearer <token>.";
    refuse(403, "not_a_member", message);
  }
  return { rawName, size, session };
}

/**
 * Streams `body` into R2 as `key`, checking that it holds exactly `size`
 * bytes. The first bytes are read ahead: they decide the file's type, which
 * the object must carry from the start. Returns that type (fileTypeOf).
 */
async function storeFile(
  bucket: R2Bucket,
  key: string,
  body: ReadableStream<Uint8Array> | null,
  size: number,
  declared: string,
  name: string,
): Promise<string> {
  const reader = body?.getReader();
  const head = reader === undefined ? { chunks: [], bytes: 0 } : await readAhead(reader, Math.min(SNIFF_BYTES, size));
  const type = fileTypeOf(declared, firstBytes(head.chunks, Math.min(head.bytes, SNIFF_BYTES)));
  const options: R2PutOptions = {
    httpMetadata: { contentType: servedType(type), contentDisposition: contentDisposition(name, isInlineImage(type)) },
  };
  if (reader === undefined || size === 0) {
    if (head.bytes !== size) throw new IncompleteBody();
    await bucket.put(key, new Uint8Array(0), options);
  } else {
    await putExactly(bucket, key, options, size, head.chunks, reader);
  }
  return type;
}

/** Reads chunks until at least `bytes` have come or the body ends. */
async function readAhead(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  bytes: number,
): Promise<{ chunks: Uint8Array[]; bytes: number }> {
  const chunks: Uint8Array[] = [];
  let read = 0;
  try {
    while (read < bytes) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      read += value.byteLength;
    }
  } catch {
    throw new IncompleteBody();
  }
  return { chunks, bytes: read };
}

/** The first `length` bytes of `chunks`, in one array. */
function firstBytes(chunks: Uint8Array[], length: number): Uint8Array {
  const first = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    if (at >= length) break;
    first.set(chunk.subarray(0, length - at), at);
    at += Math.min(chunk.byteLength, length - at);
  }
  return first;
}

/**
 * Puts exactly `size` bytes into R2: the chunks already read, then the rest
 * of the body. R2 needs the length up front: a FixedLengthStream declares it
 * and fails if the bytes that arrive are fewer (or more). Throws
 * IncompleteBody when the client is at fault, R2's error when R2 is.
 */
async function putExactly(
  bucket: R2Bucket,
  key: string,
  options: R2PutOptions,
  size: number,
  head: Uint8Array[],
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<void> {
  const { readable, writable } = new FixedLengthStream(size);
  const writer = writable.getWriter();
  let bodyFailed = false;
  let written = 0;
  const pump = (async () => {
    for (const chunk of head) {
      written += chunk.byteLength;
      await writer.write(chunk);
    }
    for (;;) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch (error) {
        bodyFailed = true;
        throw error;
      }
      if (next.done) break;
      written += next.value.byteLength;
      await writer.write(next.value);
    }
    await writer.close();
  })().catch(async (error: unknown) => {
    await writer.abort(error).catch(() => {});
    throw error;
  });
  const results = await Promise.allSettled([pump, bucket.put(key, readable, options)]);
  if (results.every((result) => result.status === "fulfilled")) return;
  // Anything short of the promised bytes is the client's doing; else R2's.
  if (bodyFailed || results[0].status === "rejected" || written !== size) throw new IncompleteBody();
  throw (results[1] as PromiseRejectedResult).reason;
}

/**
 * Download: the object, streamed from R2, with Range and conditional
 * requests (ETag, If-None-Match, If-Modified-Since) for large files and
 * caches. Proven images are shown inline; everything else is an attachment.
 */
fileRoutes.get("/api/rooms/:room/files/:id", async (c) => {
  const room = c.var.room;
  const id = c.req.param("id");
  const notFound = () =>
    c.json(
      apiError(
        "file_not_found",
        "No such file here: the link is wrong, or the file went with the old messages the room no longer keeps.",
      ),
      404,
    );
  if (!isFileId(id)) return notFound();

  const requestHeaders = c.req.raw.headers;
  const range = parseRange(requestHeaders.get("Range"));
  let object: R2ObjectBody | R2Object | null;
  try {
    const options: R2GetOptions & { onlyIf: Headers } = { onlyIf: requestHeaders };
    if (range !== null) options.range = range;
    object = await c.env.FILES.get(fileKey(room, id), options);
  } catch (error) {
    if (range === null) throw error;
    // R2 refuses a range past the end: say so with the file's size.
    const head = await c.env.FILES.head(fileKey(room, id));
    if (head === null) return notFound();
    return rangeNotSatisfiable(head.size);
  }
  if (object === null) return notFound();

  const headers = new Headers();
  object.writeHttpMetadata(headers);
  headers.set("ETag", object.httpEtag);
  headers.set("Last-Modified", object.uploaded.toUTCString());
  // An id names one content for ever (a file is never replaced, only deleted).
  headers.set("Cache-Control", "private, max-age=31536000, immutable");
  headers.set("Accept-Ranges", "bytes");
  headers.set("Content-Security-Policy", FILE_CSP);
  headers.set("X-Content-Type-Options", "nosniff");

  if (!("body" in object)) {
    // A condition failed: "not modified" for a cache's question, else 412.
    const cacheQuestion = requestHeaders.has("If-None-Match") || requestHeaders.has("If-Modified-Since");
    return new Response(null, { status: cacheQuestion ? 304 : 412, headers });
  }
  if (range !== null) {
    const start = "suffix" in range ? Math.max(0, object.size - range.suffix) : range.offset;
    const end = "length" in range ? Math.min(start + range.length, object.size) : object.size;
    if (start >= object.size || ("suffix" in range && range.suffix === 0)) {
      await object.body.cancel();
      return rangeNotSatisfiable(object.size);
    }
    headers.set("Content-Range", `bytes ${start}-${end - 1}/${object.size}`);
    headers.set("Content-Length", String(end - start));
    return new Response(object.body, { status: 206, headers });
  }
  headers.set("Content-Length", String(object.size));
  return new Response(object.body, { status: 200, headers });
});

/** A Range header's one byte range, as R2 takes it; null for none, for
 * several (the whole file is served then, which RFC 9110 allows) or for a
 * malformed one (ignored, as the RFC says). */
function parseRange(header: string | null): { offset: number; length?: number } | { suffix: number } | null {
  const match = header === null ? null : /^bytes=(\d*)-(\d*)$/.exec(header.replace(/\s/g, ""));
  if (match === null) return null;
  const [, first, last] = match as unknown as [string, string, string];
  if (first === "") return last === "" ? null : { suffix: Number(last) };
  const offset = Number(first);
  if (last === "") return { offset };
  const end = Number(last);
  return end < offset ? null : { offset, length: end - offset + 1 };
}

function rangeNotSatisfiable(size: number): Response {
  return Response.json(apiError("bad_range", `This file has ${size} bytes; ask for a range within them.`), {
    status: 416,
    headers: { "Content-Range": `bytes */${size}` },
  });
}
