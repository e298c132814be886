/**
 * Files shared in rooms: the rules the Worker, the room and both clients
 * agree on — what a file may be called, which types are shown inline, and
 * how a type is told from the first bytes. (The `file` field of a message is
 * in protocol.ts with the other frames.)
 *
 * Nothing here touches the platform: it runs unchanged in Workers, browsers
 * and Node.
 */

/** Images a browser may show inline: raster formats that cannot run script.
 * SVG is not one (it can), so it is always a download. */
export const INLINE_IMAGE_TYPES: ReadonlySet<string> = new Set([
  "image/png",
  "image/jpeg",
  "image/gif",
  "image/webp",
  "image/avif",
]);

/** Whether a file of this `type` (as a message gives it) is shown inline. */
export const isInlineImage = (type: string): boolean => INLINE_IMAGE_TYPES.has(type);

/** A file's id: 26 base32 characters, 130 random bits (see ids.ts). */
const FILE_ID = /^[a-z2-7]{26}$/;
export const isFileId = (id: string): boolean => FILE_ID.test(id);

/** Where a room's file is downloaded from, relative to the server. */
export const filePath = (room: string, id: string): string => `/api/rooms/${room}/files/${id}`;

/** Where a file is uploaded to (POST, the bytes as the body, the session
 * token as `Authorization: Bearer <token>`), relative to the server. */
export const uploadPath = (room: string, name: string): string =>
  `/api/rooms/${room}/files?name=${encodeURIComponent(name)}`;

/** Longest file name kept, in code points (file systems allow 255 bytes). */
export const MAX_FILE_NAME_LENGTH = 120;

/** Control, format (bidi overrides such as U+202E, zero-width joiners),
 * line and paragraph separators: invisible or misleading in a name. */
const NAME_INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;
/** Path separators and what Windows forbids in names; quotes and angle
 * brackets also keep a name inert in headers and markup. */
const NAME_UNSAFE = /[/\\<>:"|?*]/g;
/** Names Windows reserves for devices, with or without an extension. */
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com\d|lpt\d)(\.|$)/i;

/**
 * The name a file is shown and saved under: any string in, a safe name out.
 * A name cannot climb out of a download folder (no separators, no leading
 * dots), hide its real extension behind a right-to-left override, break a
 * header or a line, or name a device; it keeps its extension when shortened.
 */
export function cleanFileName(raw: string): string {
  let name = raw.normalize("NFC").replace(NAME_INVISIBLE, "").replace(NAME_UNSAFE, "_");
  // Leading dots hide a file (or make ".."), trailing dots and spaces vanish on Windows.
  name = trimDotsAndSpaces(name).replace(/\s+/g, " ");
  if (!name.isWellFormed()) name = name.toWellFormed();
  if (WINDOWS_DEVICE.test(name)) name = `_${name}`;
  const points = [...name];
  if (points.length > MAX_FILE_NAME_LENGTH) {
    const dot = name.lastIndexOf(".");
    const extension = dot > 0 && name.length - dot <= 16 ? [...name.slice(dot)] : [];
    name =
      trimDotsAndSpaces(points.slice(0, MAX_FILE_NAME_LENGTH - extension.length).join(""), { start: false }) +
      extension.join("");
  }
  return name === "" ? "file" : name;
}

/** `name` without dots and white space at its start and end, in one pass
 * from each side. (A regular expression such as /[\s.]+$/ retries from
 * every dot of a long run: quadratic, ~0.1 s for a name of 16,000 dots,
 * before the upload is even authorised.) */
function trimDotsAndSpaces(name: string, sides = { start: true }): string {
  const trimmed = (char: string) => char === "." || /\s/.test(char);
  let start = 0;
  let end = name.length;
  if (sides.start) while (start < end && trimmed(name[start]!)) start++;
  while (end > start && trimmed(name[end - 1]!)) end--;
  return name.slice(start, end);
}

/** A MIME type as declared by a client: lower-cased, parameters dropped, or
 * application/octet-stream when it is not one. */
export function cleanFileType(raw: string | null | undefined): string {
  const type = (raw ?? "").split(";")[0]!.trim().toLowerCase();
  return /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/.test(type) ? type : OCTET_STREAM;
}

export const OCTET_STREAM = "application/octet-stream";

/** How many leading bytes sniffFileType needs. */
export const SNIFF_BYTES = 16;

const startsWith = (bytes: Uint8Array, prefix: readonly number[], at = 0): boolean =>
  bytes.length >= at + prefix.length && prefix.every((byte, i) => bytes[at + i] === byte);
const ascii = (text: string): number[] => [...text].map((c) => c.charCodeAt(0));

/** The image type the first bytes of a file prove, or null: only a file that
 * really is a PNG, JPEG, GIF, WebP or AVIF image is ever shown inline. */
export function sniffImageType(head: Uint8Array): string | null {
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png";
  if (startsWith(head, [0xff, 0xd8, 0xff])) return "image/jpeg";
  if (startsWith(head, ascii("GIF87a")) || startsWith(head, ascii("GIF89a"))) return "image/gif";
  if (startsWith(head, ascii("RIFF")) && startsWith(head, ascii("WEBP"), 8)) return "image/webp";
  if (startsWith(head, ascii("ftypavif"), 4) || startsWith(head, ascii("ftypavis"), 4)) return "image/avif";
  return null;
}

/**
 * The type a file is listed with in its message: the image type its bytes
 * prove, else what the uploader declared — except that a declared image
 * whose bytes are not one becomes application/octet-stream, so that
 * `isInlineImage(type)` holds exactly for files that are served inline.
 */
export function fileTypeOf(declared: string, head: Uint8Array): string {
  const sniffed = sniffImageType(head);
  if (sniffed !== null) return sniffed;
  return isInlineImage(declared) ? OCTET_STREAM : declared;
}

/** Types a browser could render as a document or run (HTML, SVG, XML,
 * scripts): served as application/octet-stream, so not even a careless
 * "open" turns them into a page on this origin. */
const ACTIVE_TYPE = /html|xml|svg|script|xsl|text\/(?:css|vtt|cache-manifest)|application\/(?:pdf|x-shockwave-flash)/;

/** The Content-Type a file is served with (see fileTypeOf for `type`). */
export const servedType = (type: string): string => (ACTIVE_TYPE.test(type) ? OCTET_STREAM : type);

/** Content-Disposition for a download: `inline` only for proven images, and
 * the name twice, as plain ASCII and in full (RFC 6266, RFC 8187). */
export function contentDisposition(name: string, inline: boolean): string {
  const fallback = name.replace(/[^\x20-\x7e]/g, "_").replace(/[%'\\]/g, "_");
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${inline ? "inline" : "attachment"}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

/** "1.2 MB", "340 kB", "12 bytes": sizes as people read them (SI units, like file managers). */
export function formatFileSize(bytes: number): string {
  if (bytes < 1000) return bytes === 1 ? "1 byte" : `${bytes} bytes`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 999.95 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value < 100 ? value.toFixed(1).replace(/\.0$/, "") : Math.round(value)} ${units[unit]}`;
}

/** Why a file is too large, in sizes that differ: rounded when that shows
 * the difference, else in bytes (3,000,001 against 3,000,000). */
export function tooLargeMessage(name: string, size: number, max: number): string {
  const [got, limit] = [formatFileSize(size), formatFileSize(max)];
  const exact = got === limit;
  const show = (bytes: number, rounded: string) => (exact ? `${bytes.toLocaleString("en")} bytes` : rounded);
  return `${name} is ${show(size, got)}; files are limited to ${show(max, limit)}.`;
}
