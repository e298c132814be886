/**
 * Sharing files in the browser, against the real `wrangler dev` and its local
 * R2: the 📎 picker, drop, paste, the progress bar and Cancel, thumbnails and
 * file cards on every page, and a download compared byte for byte.
 * MAX_FILE_BYTES is lowered to 3,000,000 bytes for this server, and each
 * room's quota (ROOM_FILES_QUOTA_BYTES) to 2,500,000, and rooms keep 6 messages.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import type { DevServer } from "../e2e/wrangler-dev";
import { formatFileSize } from "../../src/shared/files";
import { CliProcess } from "../cli/run-cli";
import {
  MOBILE,
  WAIT_MS,
  eventually,
  joinRoom,
  messageLog,
  peoplePerTest,
  say,
  startServerAndBrowser,
  stopServer,
  waitForInLog,
  accessibilityViolations,
} from "./harness";

const MAX_FILE_BYTES = 3_000_000;

let server: DevServer;
let browser: Browser;
// Chromium logs every refused request as a console error; the room's 507 and
// a deleted file's 404 are there on purpose.
const person = peoplePerTest(() => browser, /Failed to load resource: the server responded with a status of (507|404)/);

beforeAll(async () => {
  ({ server, browser } = await startServerAndBrowser({
    vars: { MAX_FILE_BYTES: String(MAX_FILE_BYTES), ROOM_FILES_QUOTA_BYTES: "2500000", HISTORY_RETENTION: "6" },
  }));
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await stopServer(server);
});

// --- files to share ------------------------------------------------------------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/**
 * A real PNG, `width`×`height`, a diagonal gradient; `padding` bytes of a
 * private ancillary chunk (which decoders skip) make it as large as a photo.
 */
function png(width: number, height: number, padding = 0): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = y * (width * 3 + 1) + 1 + x * 3;
      rows[at] = 80 + Math.round((x / width) * 120);
      rows[at + 1] = 70 + Math.round((y / height) * 150);
      rows[at + 2] = 229 - Math.round((x / width) * 120);
    }
  }
  const parts = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", header)];
  if (padding > 0) parts.push(chunk("ruSt", Buffer.alloc(padding, 7)));
  parts.push(chunk("IDAT", deflateSync(rows)), chunk("IEND", Buffer.alloc(0)));
  return Buffer.concat(parts);
}

/** Every byte value, in a pattern a slipped or dropped byte would break. */
function binary(size: number): Buffer {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = (i * 31 + (i >> 10)) & 0xff;
  return data;
}

/** Throttles the page's uploads (Chromium's network emulation), so that progress can be seen. */
async function slowUploads(page: Page, bytesPerSecond: number): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 20,
    downloadThroughput: -1,
    uploadThroughput: bytesPerSecond,
  });
}

/** Ana and Ben, each in a browser of their own, both in `room`. */
async function anaAndBen(room: string) {
  const ana = await person("ana");
  const ben = await person("ben");
  await joinRoom(ana, server.url, room, "Ana");
  await joinRoom(ben, server.url, room, "Ben");
  return { ana, ben };
}

const uploadEntry = (page: Page) => messageLog(page).locator("li.upload");

/** Whether every image in the log has loaded and decoded, with its natural width.
 * (Page scripts are strings: these files are typechecked without the DOM's types.) */
const thumbnails = (page: Page) =>
  page.evaluate<{ loaded: boolean; width: number; alt: string }[]>(
    `[...document.querySelectorAll("#messages .file.image img")].map((image) =>
      ({ loaded: image.complete && image.naturalWidth > 0, width: image.naturalWidth, alt: image.alt }))`,
  );

describe("sharing a file in the browser", () => {
  it("uploads an image with a visible progress bar, and both pages show it as a thumbnail", async () => {
    const { ana, ben } = await anaAndBen("photos");
    await slowUploads(ana.page, 400_000);

    await ana.page.setInputFiles("#file-input", {
      name: "sunset.png",
      mimeType: "image/png",
      buffer: png(320, 200, 1_200_000),
    });
    // The upload's entry, with a progress bar that moves and says how far it got.
    await uploadEntry(ana.page).waitFor({ state: "visible" });
    expect(await uploadEntry(ana.page).textContent()).toContain("sunset.png0% of 1.3 MBCancel");
    const seen = await eventually(
      () => ana.page.evaluate<number>(`document.querySelector("li.upload progress")?.value ?? 1`),
      (value) => value > 0.1,
    );
    expect(seen).toBeGreaterThan(0.1);
    expect(seen).toBeLessThan(1);
    expect(await accessibilityViolations(ana.page), "WCAG 2.1 AA violations: an upload under way").toEqual([]);
    expect(await ana.page.locator("li.upload .upload-percent").textContent()).toMatch(/^\d+% of 1\.3 MB$/);

    // Then the room's message replaces it, on both pages, as a decoded image.
    for (const page of [ana.page, ben.page]) {
      const shown = await eventually(
        () => thumbnails(page),
        (images) => images.length === 1 && images[0]!.loaded,
        20_000,
      );
      expect(shown).toEqual([{ loaded: true, width: 320, alt: "sunset.png" }]);
    }
    expect(await uploadEntry(ana.page).count()).toBe(0);
    // A click opens the full-size image in a new tab.
    const link = ben.page.locator("#messages a.file.image");
    expect(await link.getAttribute("target")).toBe("_blank");
    const full = await ben.page.request.get(`${server.url}${await link.getAttribute("href")}`);
    expect(full.headers()["content-type"]).toBe("image/png");
    expect(full.headers()["content-disposition"]).toMatch(/^inline; filename="sunset.png"/);
  }, 60_000);

  it("lets two browsers and a terminal exchange files both ways", async () => {
    const room = "three-way";
    const { ana, ben } = await anaAndBen(room);
    const folder = mkdtempSync(join(tmpdir(), "edge-chat-three-way-"));
    const cy = new CliProcess([`${server.url}/r/${room}`, "--nick", "Cy", "--download-dir", join(folder, "got")]);
    try {
      await cy.waitFor(`You joined #${room} as Cy.`);
      // Browser → terminal: announced with its full URL, then saved byte for byte.
      const photo = png(64, 48);
      await ana.page.setInputFiles("#file-input", { name: "photo.png", mimeType: "image/png", buffer: photo });
      const size = formatFileSize(photo.length).replace(".", "\\.");
      await cy.waitFor(
        new RegExp(
          `Ana: shared photo\\.png \\(${size}, image/png\\): ${server.url}/api/rooms/${room}/files/[a-z2-7]{26}`,
        ),
      );
      await cy.waitFor(`Saved photo.png to ${join(folder, "got", "photo.png")}`, WAIT_MS, "stderr");
      expect(readFileSync(join(folder, "got", "photo.png")).equals(photo)).toBe(true);

      // Terminal → browsers: a card on both pages, and Ben's download is the file.
      const table = Buffer.from("city,temperature\nLagos,31\nOslo,-4\nKyoto,9\n");
      writeFileSync(join(folder, "weather.csv"), table);
      cy.write(`/send ${join(folder, "weather.csv")}`);
      for (const page of [ana.page, ben.page]) {
        await page.locator("#messages a.file.card", { hasText: "weather.csv" }).waitFor({ state: "visible" });
      }
      const card = ben.page.locator("#messages a.file.card", { hasText: "weather.csv" });
      expect(await card.textContent()).toContain(`text/csv · ${table.length} bytes`);
      const [download] = await Promise.all([ben.page.waitForEvent("download"), card.click()]);
      expect(readFileSync(await download.path()).equals(table)).toBe(true);
      // Both thumbnails and cards are in the room's history for Cy, too.
      await cy.waitFor(`Cy: shared weather.csv (${table.length} bytes, text/csv)`);
    } finally {
      cy.kill();
      rmSync(folder, { recursive: true, force: true });
    }
  }, 60_000);

  it("shows any other file as a card, and its download is the same bytes", async () => {
    const { ana, ben } = await anaAndBen("documents");
    const data = binary(250_000);
    await ana.page.setInputFiles("#file-input", { name: "report 2026.pdf", mimeType: "application/pdf", buffer: data });

    const card = ben.page.locator("#messages a.file.card");
    await card.waitFor({ state: "visible" });
    expect(await card.textContent()).toBe("PDFreport 2026.pdfapplication/pdf · 250 kBDownload");
    expect(await card.getAttribute("download")).toBe("report 2026.pdf");
    const [download] = await Promise.all([ben.page.waitForEvent("download"), card.click()]);
    expect(download.suggestedFilename()).toBe("report 2026.pdf");
    expect(readFileSync(await download.path()).equals(data)).toBe(true);
    // The history shows it to whoever comes later.
    const cy = await person("cy");
    await joinRoom(cy, server.url, "documents", "Cy");
    await cy.page.locator("#messages a.file.card", { hasText: "report 2026.pdf" }).waitFor({ state: "visible" });
  }, 60_000);

  it("Cancel stops an upload: its entry goes, and nobody gets the file", async () => {
    const { ana, ben } = await anaAndBen("cancelled");
    await slowUploads(ana.page, 100_000);
    await ana.page.setInputFiles("#file-input", {
      name: "big.bin",
      mimeType: "application/octet-stream",
      buffer: binary(2_000_000),
    });
    await uploadEntry(ana.page).waitFor({ state: "visible" });
    const aborted = ana.page.waitForEvent("requestfailed", (request) => request.url().includes("/files?name=big.bin"));
    await ana.page.getByRole("button", { name: "Cancel the upload of big.bin" }).click();
    await uploadEntry(ana.page).waitFor({ state: "detached" });
    // The request itself stops (not just its entry), long before it could finish.
    expect((await aborted).failure()?.errorText).toBe("net::ERR_ABORTED");
    // A message after it arrives, the file never does.
    await say(ana.page, "never mind the file");
    await waitForInLog(ben.page, "never mind the file");
    expect(await ben.page.locator("#messages .file").count()).toBe(0);
    expect(await ana.page.locator("#messages .file").count()).toBe(0);
  }, 60_000);

  it("shares files dropped on the chat and images pasted into the composer", async () => {
    const { ana, ben } = await anaAndBen("drop-paste");
    const pictureBytes = [...png(40, 30)];
    // A drop, as the browser delivers it: dragenter shows the drop zone, drop shares.
    const dropZoneShown = await ana.page.evaluate<boolean>(`(() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File(["dropped notes\\n"], "notes.txt", { type: "text/plain" }));
      const target = document.getElementById("messages");
      target.dispatchEvent(new DragEvent("dragenter", { dataTransfer: transfer, bubbles: true }));
      const shown = !document.getElementById("drop-zone").hidden;
      target.dispatchEvent(new DragEvent("dragover", { dataTransfer: transfer, bubbles: true, cancelable: true }));
      target.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
      return shown;
    })()`);
    expect(dropZoneShown).toBe(true);
    expect(await ana.page.locator("#drop-zone").isHidden()).toBe(true);
    await ben.page.locator("#messages a.file.card", { hasText: "notes.txt" }).waitFor({ state: "visible" });

    // A paste of a screenshot: shared, not typed.
    await ana.page.locator("#text").focus();
    await ana.page.evaluate(`(() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([new Uint8Array(${JSON.stringify(pictureBytes)})], "image.png", { type: "image/png" }));
      document.getElementById("text").dispatchEvent(new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true }));
    })()`);
    const shown = await eventually(
      () => thumbnails(ben.page),
      (images) => images.length === 1 && images[0]!.loaded,
    );
    expect(shown).toEqual([{ loaded: true, width: 40, alt: "image.png" }]);
    expect(await ana.page.locator("#text").inputValue()).toBe("");
  }, 60_000);

  it("shows the room's refusal on the upload's entry, which Dismiss clears", async () => {
    const ana = await person("ana");
    await joinRoom(ana, server.url, "full-room", "Ana");
    await ana.page.setInputFiles("#file-input", {
      name: "first.bin",
      mimeType: "application/octet-stream",
      buffer: binary(1_500_000),
    });
    await ana.page.locator("#messages a.file.card", { hasText: "first.bin" }).waitFor({ state: "visible" });
    await ana.page.setInputFiles("#file-input", {
      name: "second.bin",
      mimeType: "application/octet-stream",
      buffer: binary(1_500_000),
    });
    const failed = ana.page.locator('li.upload[data-state="failed"]');
    await failed.waitFor({ state: "visible" });
    expect(await failed.textContent()).toMatch(
      /second\.bin.*Not shared: This room's files take 1\.5 MB of its 2\.5 MB, so 1\.5 MB more do not fit/,
    );
    expect(await accessibilityViolations(ana.page), "WCAG 2.1 AA violations: a refused upload").toEqual([]);
    await failed.getByRole("button", { name: "Dismiss" }).click();
    await failed.waitFor({ state: "detached" });
    expect(await ana.page.locator("#messages .file").count()).toBe(1);
  }, 60_000);

  it("says so where an image was when retention has deleted it", async () => {
    const { ana, ben } = await anaAndBen("retention");
    await ana.page.setInputFiles("#file-input", { name: "old.png", mimeType: "image/png", buffer: png(30, 20) });
    await eventually(
      () => thumbnails(ben.page),
      (images) => images.length === 1 && images[0]!.loaded,
    );
    const url = await ben.page.locator("#messages a.file.image").getAttribute("href");
    // Six more messages: the room keeps six, so the file's message and the file go.
    for (let i = 1; i <= 6; i++) await say(ana.page, `newer ${i}`);
    await waitForInLog(ben.page, "newer 6");
    const gone = await eventually(
      async () => (await ben.page.request.get(`${server.url}${url}`)).status(),
      (status) => status === 404,
    );
    expect(gone).toBe(404);
    // Ben's page loads the image again (as a lazy image scrolled into view would).
    await ben.page.evaluate(
      `(() => { const image = document.querySelector("#messages .file.image img"); image.src = image.src + "?again"; })()`,
    );
    await ben.page
      .locator("#messages .file.gone", { hasText: "old.png: no longer available" })
      .waitFor({ state: "visible" });
  }, 60_000);

  it("refuses a file over the room's limit before sending it, and says why", async () => {
    const { ana, ben } = await anaAndBen("too-big");
    await ana.page.setInputFiles("#file-input", {
      name: "huge.bin",
      mimeType: "application/octet-stream",
      buffer: binary(MAX_FILE_BYTES + 1),
    });
    await ana.page.locator("#notice").waitFor({ state: "visible" });
    expect(await ana.page.locator("#notice").textContent()).toBe(
      "huge.bin is 3,000,001 bytes; files are limited to 3,000,000 bytes.",
    );
    expect(await uploadEntry(ana.page).count()).toBe(0);
    await say(ana.page, "after the refusal");
    await waitForInLog(ben.page, "after the refusal");
    expect(await ben.page.locator("#messages .file").count()).toBe(0);
  }, 60_000);

  it("works on a phone: the picker shares, and a thumbnail fits the screen", async () => {
    const kai = await person("kai", MOBILE);
    await joinRoom(kai, server.url, "phone", "Kai");
    const attach = kai.page.getByRole("button", { name: "Share a file or photo" });
    await attach.waitFor({ state: "visible" });
    const box = await attach.boundingBox();
    expect(box!.height).toBeGreaterThanOrEqual(40); // a finger-sized target
    // The picker the button opens is the file input (camera included on phones).
    const [chooser] = await Promise.all([kai.page.waitForEvent("filechooser"), attach.click()]);
    expect(chooser.isMultiple()).toBe(true);
    await chooser.setFiles({ name: "IMG_0042.png", mimeType: "image/png", buffer: png(1200, 900) });
    const shown = await eventually(
      () => thumbnails(kai.page),
      (images) => images.length === 1 && images[0]!.loaded,
      WAIT_MS,
    );
    expect(shown[0]).toMatchObject({ loaded: true, width: 1200 });
    const overflow = await kai.page.evaluate<number>(
      "document.documentElement.scrollWidth - document.documentElement.clientWidth",
    );
    expect(overflow).toBe(0);
    const image = await kai.page.locator("#messages .file.image img").boundingBox();
    expect(image!.x + image!.width).toBeLessThanOrEqual(360);
  }, 60_000);
});
