/**
 * The file rules every part shares (src/shared/files.ts): names that cannot escape
 * or mislead, types proven by bytes, headers that never make a page, sizes
 * as people read them. Property tests try thousands of hostile names.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  MAX_FILE_NAME_LENGTH,
  cleanFileName,
  cleanFileType,
  contentDisposition,
  fileTypeOf,
  formatFileSize,
  isInlineImage,
  servedType,
  sniffImageType,
  tooLargeMessage,
} from "../src/shared/files";

const bytes = (...values: (number | string)[]): Uint8Array =>
  new Uint8Array(
    values.flatMap((value) => (typeof value === "string" ? [...value].map((c) => c.charCodeAt(0)) : [value])),
  );

describe("cleanFileName", () => {
  it("never lets a name climb out of a folder, hide, break a line or flip its text", () => {
    const hostile = fc.oneof(
      fc.string({ unit: "binary", maxLength: 300 }),
      fc
        .array(
          fc.constantFrom("..", "/", "\\", ".", " ", "\u202e", "\n", "\r", "\u0000", "a", "é", "<", '"', "NUL", "con"),
          { maxLength: 40 },
        )
        .map((parts) => parts.join("")),
      // Long names, where the cut must not leave a dot or a space at the end.
      fc
        .array(fc.constantFrom("a", ".", " ", "é", "😀", ".jpg"), { minLength: 100, maxLength: 200 })
        .map((parts) => parts.join("")),
    );
    fc.assert(
      fc.property(hostile, (raw) => {
        const name = cleanFileName(raw);
        expect(name.length).toBeGreaterThan(0);
        expect([...name].length).toBeLessThanOrEqual(MAX_FILE_NAME_LENGTH);
        expect(name).not.toMatch(/[/\\<>:"|?*\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u);
        expect(name).not.toMatch(/^[.\s]|[.\s]$/);
        expect(name).not.toMatch(/^(con|prn|aux|nul|com\d|lpt\d)(\.|$)/i);
        expect(name.isWellFormed()).toBe(true);
        expect(cleanFileName(name)).toBe(name); // cleaning twice changes nothing
      }),
      { numRuns: 3000 },
    );
  });

  it("keeps ordinary names as they are, in any script", () => {
    for (const name of [
      "photo.jpg",
      "résumé 2026.pdf",
      "東京の地図.png",
      "Ünïcödé (1).tar.gz",
      "a.b.c",
      "Привет.txt",
    ]) {
      expect(cleanFileName(name)).toBe(name);
    }
    expect(cleanFileName("cafe\u0301.txt")).toBe("café.txt"); // NFC
    expect(cleanFileName("  spaced   out  .txt ")).toBe("spaced out .txt");
  });

  it("cuts long names to 120 characters, keeping a short extension and never ending in a dot", () => {
    expect(cleanFileName(`${"a".repeat(200)}.jpeg`)).toBe(`${"a".repeat(115)}.jpeg`);
    expect(cleanFileName(`${"a".repeat(119)}.${"b".repeat(50)}`)).toBe("a".repeat(119));
    expect(cleanFileName(`${"a".repeat(114)}  .  ${"b".repeat(10)}.jpeg`)).toBe(`${"a".repeat(114)}.jpeg`);
    expect([...cleanFileName("😀".repeat(300))]).toHaveLength(120);
  });

  it("cleans names made of long runs of dots and spaces in one pass (a quadratic trim would not finish in time)", () => {
    const dots = ".".repeat(200_000);
    expect(cleanFileName(`a${dots}b`)).toBe("a.b"); // ".b" is kept as the extension
    expect(cleanFileName(dots)).toBe("file");
    expect(cleanFileName(`${dots}x${" . ".repeat(100_000)}`)).toBe("x");
    expect(cleanFileName(`x${". ".repeat(100_000)}y.txt`)).toBe("x.txt");
  });
});

describe("types", () => {
  it("are proven from the first bytes for the inline images, and nothing else", () => {
    expect(sniffImageType(bytes(0x89, "PNG", 0x0d, 0x0a, 0x1a, 0x0a, 0, 0))).toBe("image/png");
    expect(sniffImageType(bytes(0xff, 0xd8, 0xff, 0xe0))).toBe("image/jpeg");
    expect(sniffImageType(bytes("GIF89a", 1, 0))).toBe("image/gif");
    expect(sniffImageType(bytes("GIF87a"))).toBe("image/gif");
    expect(sniffImageType(bytes("RIFF", 0, 0, 0, 0, "WEBPVP8 "))).toBe("image/webp");
    expect(sniffImageType(bytes(0, 0, 0, 28, "ftypavif"))).toBe("image/avif");
    for (const other of [
      bytes("<svg xmlns="),
      bytes("<!doctype html>"),
      bytes("RIFF", 0, 0, 0, 0, "WAVE"),
      bytes(0x89, "PN"),
      bytes(),
    ]) {
      expect(sniffImageType(other)).toBeNull();
    }
  });

  it("make isInlineImage true exactly for files whose bytes are an image", () => {
    const png = bytes(0x89, "PNG", 0x0d, 0x0a, 0x1a, 0x0a);
    expect(fileTypeOf("image/png", png)).toBe("image/png");
    expect(fileTypeOf("application/octet-stream", png)).toBe("image/png");
    expect(fileTypeOf("text/html", png)).toBe("image/png"); // the bytes decide
    expect(fileTypeOf("image/png", bytes("<html>"))).toBe("application/octet-stream");
    expect(fileTypeOf("image/svg+xml", bytes("<svg>"))).toBe("image/svg+xml");
    expect(isInlineImage("image/svg+xml")).toBe(false);
    fc.assert(
      fc.property(
        fc.constantFrom("image/png", "image/jpeg", "image/gif", "image/webp", "text/html", "image/svg+xml"),
        fc.uint8Array({ maxLength: 16 }),
        (declared, head) => {
          expect(isInlineImage(fileTypeOf(declared, head))).toBe(sniffImageType(head) !== null);
        },
      ),
    );
  });

  it("clean a declared type, and serve active ones as plain bytes", () => {
    expect(cleanFileType("Image/PNG; charset=binary")).toBe("image/png");
    expect(cleanFileType("")).toBe("application/octet-stream");
    expect(cleanFileType(null)).toBe("application/octet-stream");
    expect(cleanFileType("text/html\r\nX-Evil: 1")).toBe("application/octet-stream");
    expect(cleanFileType("not a type")).toBe("application/octet-stream");
    for (const active of [
      "text/html",
      "application/xhtml+xml",
      "image/svg+xml",
      "text/javascript",
      "application/xml",
      "application/pdf",
    ]) {
      expect(servedType(active), active).toBe("application/octet-stream");
    }
    for (const passive of ["text/plain", "text/csv", "application/zip", "image/png", "video/mp4"])
      expect(servedType(passive)).toBe(passive);
  });
});

describe("contentDisposition", () => {
  it("gives an ASCII name and the full UTF-8 name, never breaking the header", () => {
    expect(contentDisposition("photo.jpg", true)).toBe(`inline; filename="photo.jpg"; filename*=UTF-8''photo.jpg`);
    expect(contentDisposition("résumé (1).pdf", false)).toBe(
      `attachment; filename="r_sum_ (1).pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%281%29.pdf`,
    );
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), (raw) => {
        const header = contentDisposition(cleanFileName(raw), false);
        expect(header).toMatch(
          /^attachment; filename="[^"\\\x00-\x1f\x7f-\uffff]*"; filename\*=UTF-8''[A-Za-z0-9%!._~-]*$/,
        );
        expect(() => new Headers({ "Content-Disposition": header })).not.toThrow();
      }),
      { numRuns: 2000 },
    );
  });
});

describe("sizes", () => {
  it("read as people read them", () => {
    expect([0, 1, 999, 1000, 1500, 99_949, 250_000, 999_999, 1_300_000, 10_485_760, 3e12].map(formatFileSize)).toEqual([
      "0 bytes",
      "1 byte",
      "999 bytes",
      "1 kB",
      "1.5 kB",
      "99.9 kB",
      "250 kB",
      "1 MB",
      "1.3 MB",
      "10.5 MB",
      "3 TB",
    ]);
  });

  it("say exactly how much too large, in bytes when rounding would hide it", () => {
    expect(tooLargeMessage("a.bin", 12_000_000, 10_485_760)).toBe("a.bin is 12 MB; files are limited to 10.5 MB.");
    expect(tooLargeMessage("a.bin", 3_000_001, 3_000_000)).toBe(
      "a.bin is 3,000,001 bytes; files are limited to 3,000,000 bytes.",
    );
  });
});
