/**
 * Files from the terminal: `/send PATH` uploads one (streamed from disk, with
 * progress), and --download-dir saves the ones others share. The endpoint and
 * the rules are the browser's (src/shared/files.ts); node:http streams a body with
 * a known length and reports how far it got, which fetch cannot.
 */
import { createReadStream } from "node:fs";
import { mkdir, open, stat, type FileHandle } from "node:fs/promises";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { homedir } from "node:os";
import { basename, extname, join, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { cleanFileName, tooLargeMessage, uploadPath } from "../src/shared/files";
import type { FileInfo } from "../src/shared/protocol";

export type UploadResult = { ok: true; file: FileInfo } | { ok: false; message: string };

/** A path as people type it: "~/" is their home folder. */
export function expandPath(path: string): string {
  const trimmed = path.trim();
  return resolve(trimmed === "~" || trimmed.startsWith("~/") ? join(homedir(), trimmed.slice(1)) : trimmed);
}

/** MIME types by extension, for the files people share most (the server
 * checks images by their bytes anyway). */
const TYPES: Record<string, string> = {
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".avif": "image/avif",
  ".svg": "image/svg+xml",
  ".pdf": "application/pdf",
  ".txt": "text/plain",
  ".md": "text/markdown",
  ".csv": "text/csv",
  ".json": "application/json",
  ".zip": "application/zip",
  ".gz": "application/gzip",
  ".mp3": "audio/mpeg",
  ".mp4": "video/mp4",
  ".html": "text/html",
};

export const typeOfPath = (path: string): string => TYPES[extname(path).toLowerCase()] ?? "application/octet-stream";

/**
 * Uploads the file at `path` to `room`; `progress` hears the bytes sent so
 * far and the total. A file over `maxBytes` (the room's limit from
 * welcome) is refused here, before a byte is sent.
 */
export async function uploadFile(
  httpBase: string,
  room: string,
  session: string,
  path: string,
  maxBytes: number | undefined,
  progress: (sent: number, total: number) => void,
): Promise<UploadResult> {
  const file = expandPath(path);
  let size: number;
  try {
    const info = await stat(file);
    if (!info.isFile()) return { ok: false, message: `${path} is not a file.` };
    size = info.size;
  } catch {
    return { ok: false, message: `Cannot read ${path}: no such file, or no permission.` };
  }
  const name = basename(file);
  if (maxBytes !== undefined && size > maxBytes) {
    return { ok: false, message: tooLargeMessage(name, size, maxBytes) };
  }
  const url = new URL(uploadPath(room, name), httpBase);
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<UploadResult>((settle) => {
    const req = send(url, {
      method: "POST",
      headers: { "Content-Length": String(size), "Content-Type": typeOfPath(file), Authorization: `Bearer ${session}` },
    });
    req.on("response", (response) => {
      void readAnswer(response).then((answer) => {
        if (response.statusCode === 201 && answer.file !== undefined) settle({ ok: true, file: answer.file });
        else settle({ ok: false, message: answer.message ?? `the server answered ${response.statusCode}.` });
      });
    });
    req.on("error", (error) => settle({ ok: false, message: `the upload failed: ${error.message}` }));
    let sent = 0;
    const body = createReadStream(file);
    body.on("data", (chunk) => {
      sent += chunk.length;
      progress(sent, size);
    });
    body.on("error", (error) => {
      req.destroy();
      settle({ ok: false, message: `Cannot read ${path}: ${error.message}` });
    });
    progress(0, size);
    body.pipe(req);
  });
}

async function readAnswer(response: IncomingMessage): Promise<{ file?: FileInfo; message?: string }> {
  let text = "";
  for await (const chunk of response) text += String(chunk);
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? (value as { file?: FileInfo; message?: string }) : {};
  } catch {
    return {};
  }
}

/**
 * Saves a shared file into `dir` under its (again cleaned) name, never over
 * an existing file: "photo.jpg", then "photo (1).jpg", and so on. Resolves
 * with the path written.
 */
export async function downloadFile(httpBase: string, file: FileInfo, dir: string): Promise<string> {
  const response = await fetch(new URL(file.url, httpBase));
  if (!response.ok || response.body === null) throw new Error(`the server answered ${response.status}`);
  await mkdir(dir, { recursive: true });
  const name = cleanFileName(file.name);
  const extension = extname(name);
  const stem = name.slice(0, name.length - extension.length);
  for (let copy = 0; ; copy++) {
    const path = join(dir, copy === 0 ? name : `${stem} (${copy})${extension}`);
    let handle: FileHandle;
    try {
      handle = await open(path, "wx"); // fails if it exists: nothing is overwritten
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST" && copy < 1000) continue;
      throw error;
    }
    await pipeline(
      Readable.fromWeb(response.body as import("node:stream/web").ReadableStream),
      handle.createWriteStream(),
    );
    return path;
  }
}
