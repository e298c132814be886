/**
 * The README's screenshots, taken from the real app: the landing page and a
 * busy room (several people, a dozen messages, a join notice, someone
 * typing), a room where a photo and a PDF were shared, in light and dark at
 * 1280×800, the busy room on a 360×740 phone, a moderated room with its
 * settings panel open, and a conversation with replies, reactions, an edit,
 * a mention and formatting.
 * `npm run test:e2e` takes them every time (into a temporary folder, so a test
 * run leaves the work tree clean); `UPDATE_SCREENSHOTS=1 npm run test:e2e`
 * writes them to docs/screenshots/ for the README.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { newStateDir, startDevServer, type DevServer } from "../e2e/wrangler-dev";
import {
  DESKTOP,
  MOBILE,
  composer,
  joinRoom,
  launchChrome,
  peoplePerTest,
  say,
  shoot,
  stopServer,
  submitNick,
  waitForInLog,
  type Person,
} from "./harness";

const ROOM = "edge-team";

let server: DevServer | undefined;
let browser: Browser;

const person = peoplePerTest(() => browser);

type Scheme = "light" | "dark";

/** A server with nothing in it yet, so that every room shot starts from the same empty room. */
async function freshServer(): Promise<DevServer> {
  await stopServer(server);
  server = await startDevServer({ stateDir: newStateDir() });
  return server;
}

beforeAll(async () => {
  browser = await launchChrome();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await stopServer(server);
});

/** Ana, Kartik (on `kartikOn`) and Mei joined to the room, in that order. */
async function anaKartikMei(base: string, scheme: Scheme, kartikOn: typeof DESKTOP) {
  const ana = await person("ana", { ...DESKTOP, colorScheme: scheme });
  const kartik = await person("kartik", { ...kartikOn, colorScheme: scheme });
  const mei = await person("mei", { ...DESKTOP, colorScheme: scheme });
  await joinRoom(ana, base, ROOM, "Ana");
  await joinRoom(kartik, base, ROOM, "Kartik");
  await joinRoom(mei, base, ROOM, "Mei");
  await waitForInLog(ana.page, "Mei joined");
  return { ana, kartik, mei };
}

/**
 * The busy room, seen by Ana on a desktop and by Kartik on a phone: four
 * people, a dozen messages, Olu's arrival, and Mei typing (until `typing`
 * settles) when it is shown.
 */
async function busyRoom(base: string, scheme: Scheme): Promise<{ ana: Person; kartik: Person; typing: Promise<void> }> {
  const { ana, kartik, mei } = await anaKartikMei(base, scheme, MOBILE);
  const olu = await person("olu", { ...DESKTOP, colorScheme: scheme });

  const conversation: [Person, string][] = [
    [kartik, "Morning! Is everyone on the new build?"],
    [ana, "Yes, deployed an hour ago. Every room is its own Durable Object now."],
    [mei, "So this room lives in one place, and we all meet there?"],
    [ana, "Exactly. A message is stored in SQLite before anyone sees it."],
    [ana, "So the order is the same for everyone, and nothing gets lost."],
    [kartik, "I closed my laptop on the train and came back without missing a line 🎉"],
    [mei, "How does it know where you left off?"],
    [ana, "The page joins again with the id of the last message it saw, and the room sends what came after."],
    [kartik, "No duplicates either. I checked."],
    [mei, "Nice. Can I invite the design team?"],
  ];
  const afterOlu: [Person, string][] = [
    [olu, "Hi all! What did I miss?"],
    [ana, "Scroll up, it's all there 🙂"],
  ];
  for (const [speaker, text] of conversation) {
    await say(speaker.page, text);
    await waitForInLog(ana.page, text);
  }
  await joinRoom(olu, base, ROOM, "Olu");
  await waitForInLog(ana.page, "Olu joined");
  for (const [speaker, text] of afterOlu) {
    await say(speaker.page, text);
    await waitForInLog(ana.page, text);
  }
  await waitForInLog(kartik.page, afterOlu.at(-1)![1]);

  // No focus ring on the viewers' composers; then Mei starts typing.
  await composer(ana.page).blur();
  await composer(kartik.page).blur();
  // Typing goes on for about 4 s, long enough for a fresh notice to arrive
  // whatever the room's 2 s throttle swallowed, and for the shots.
  const typing = composer(mei.page).pressSequentially("Sure, the link is at the top right, one sec", { delay: 90 });
  await Promise.all([
    ana.page.getByText("Mei is typing…").waitFor(),
    kartik.page.getByText("Mei is typing…").waitFor(),
  ]);
  return { ana, kartik, typing };
}

/** A photo-like picture (a sunset over hills), drawn by the page's own canvas, as PNG bytes. */
async function drawSunset(page: Page): Promise<Buffer> {
  const base64 = await page.evaluate<string>(`(() => {
    const canvas = document.createElement("canvas");
    canvas.width = 960;
    canvas.height = 600;
    const g = canvas.getContext("2d");
    const sky = g.createLinearGradient(0, 0, 0, 600);
    sky.addColorStop(0, "#1e1b4b");
    sky.addColorStop(0.45, "#c2410c");
    sky.addColorStop(0.7, "#fbbf24");
    g.fillStyle = sky;
    g.fillRect(0, 0, 960, 600);
    g.fillStyle = "#fde68a";
    g.beginPath();
    g.arc(600, 400, 70, 0, Math.PI * 2);
    g.fill();
    const hills = [["#7c2d12", 430, 0.004, 40], ["#431407", 480, 0.006, 30], ["#1c0a05", 530, 0.009, 22]];
    for (const [colour, base, frequency, height] of hills) {
      g.fillStyle = colour;
      g.beginPath();
      g.moveTo(0, 600);
      for (let x = 0; x <= 960; x += 8) g.lineTo(x, base - Math.sin(x * frequency + base) * height - Math.cos(x * frequency * 2.3) * height * 0.4);
      g.lineTo(960, 600);
      g.fill();
    }
    return canvas.toDataURL("image/png").split(",")[1];
  })()`);
  return Buffer.from(base64, "base64");
}

/** What these tests read of an <img> in the page (the tests have no DOM types). */
interface ImageInPage {
  complete: boolean;
  naturalWidth: number;
  addEventListener(type: "load" | "error", listener: () => void, options: { once: boolean }): void;
}

/** A room where a photo and a document were shared, as Ana sees it. */
async function filesRoom(base: string, scheme: Scheme): Promise<Person> {
  const { ana, kartik, mei } = await anaKartikMei(base, scheme, DESKTOP);
  await say(kartik.page, "The view from the office roof this evening:");
  await waitForInLog(ana.page, "office roof");
  await kartik.page.setInputFiles("#file-input", {
    name: "rooftop-sunset.png",
    mimeType: "image/png",
    buffer: await drawSunset(kartik.page),
  });
  const photo = ana.page.locator("#messages .file.image img");
  await photo.waitFor();
  // A function, not a string: the page's CSP forbids eval, which a string
  // predicate of waitForFunction needs whenever it has to poll.
  const loaded = await photo.evaluate(
    (img: ImageInPage) =>
      img.complete ||
      new Promise<boolean>((resolve) => {
        img.addEventListener("load", () => resolve(true), { once: true });
        img.addEventListener("error", () => resolve(false), { once: true });
      }),
  );
  expect(loaded).toBe(true);
  expect(await photo.evaluate((img: ImageInPage) => img.naturalWidth)).toBeGreaterThan(0);
  await say(mei.page, "Wow. And here are the notes from today's planning, before I forget");
  await waitForInLog(ana.page, "planning, before");
  const notes = Buffer.concat([Buffer.from("%PDF-1.7\n"), Buffer.alloc(184_320, 32)]);
  await mei.page.setInputFiles("#file-input", {
    name: "planning-notes.pdf",
    mimeType: "application/pdf",
    buffer: notes,
  });
  await ana.page.locator("#messages .file.card").waitFor();
  await say(ana.page, "Thanks, got both 🙌");
  await waitForInLog(ana.page, "got both");
  await composer(ana.page).blur();
  return ana;
}

/**
 * A room Ana owns, after a spammer came by: Kartik, her moderator, deleted
 * the spam (after the confirmation) and banned the spammer; the topic is
 * set, slow mode is on, and Ana has the room's settings open, with the ban
 * and the moderation log.
 */
async function moderatedRoom(base: string, scheme: Scheme): Promise<Person> {
  const claim = await fetch(`${base}/api/rooms/${ROOM}/claim`, { method: "POST" });
  expect(claim.status).toBe(201);
  const { ownerKey } = (await claim.json()) as { ownerKey: string };
  const ana = await person("ana", { ...DESKTOP, colorScheme: scheme });
  await ana.page.goto(`${base}/r/${ROOM}#owner=${ownerKey}`);
  await submitNick(ana.page, "Ana");
  await ana.page.getByText("You own this room.").waitFor();
  const kartik = await person("kartik", { ...DESKTOP, colorScheme: scheme });
  const mei = await person("mei", { ...DESKTOP, colorScheme: scheme });
  await joinRoom(kartik, base, ROOM, "Kartik");
  await joinRoom(mei, base, ROOM, "Mei");
  await waitForInLog(ana.page, "Mei joined");
  await say(ana.page, "/mod kartik");
  await waitForInLog(kartik.page, "Ana made you a moderator");
  await say(ana.page, "/topic Release day: questions welcome, no ads please");
  await say(ana.page, "Release notes are up. Ask away!");
  await waitForInLog(mei.page, "Ask away");
  await say(mei.page, "Does the new build keep the history when a room moves?");
  await waitForInLog(ana.page, "room moves?");

  const spammer = await person("spammer", { ...DESKTOP, colorScheme: scheme });
  await joinRoom(spammer, base, ROOM, "Spammer");
  await say(spammer.page, "CHEAP FOLLOWERS!!! spam.example/buy");
  await waitForInLog(kartik.page, "CHEAP FOLLOWERS");
  await kartik.page.getByRole("button", { name: /^Actions for Spammer's message at / }).click();
  await kartik.page
    .getByRole("dialog", { name: "Message from Spammer" })
    .getByRole("button", { name: "Delete…" })
    .click();
  await kartik.page.getByRole("dialog", { name: "Are you sure?" }).getByRole("button", { name: "Delete" }).click();
  await ana.page.locator("#messages .tombstone", { hasText: "Message deleted by Kartik" }).waitFor();
  await say(kartik.page, "/ban Spammer 1440 advertising");
  await waitForInLog(ana.page, "Kartik banned Spammer");
  await say(ana.page, "/slow 10");
  await waitForInLog(ana.page, "Ana turned slow mode on");
  await say(kartik.page, "Yes: every room's history is stored with it, wherever it runs.");
  await waitForInLog(ana.page, "wherever it runs");

  await ana.page.getByRole("button", { name: "Room settings" }).click();
  const settings = ana.page.getByRole("dialog", { name: "Room settings" });
  await settings.getByRole("button", { name: "Unban Spammer" }).waitFor();
  await settings.getByText(/Kartik banned Spammer/).waitFor();
  // The panel opens on the topic field; the shot shows the panel, not a caret in it.
  await settings.getByRole("heading", { name: "Room settings" }).click();
  return ana;
}

/** Message `id` of a page's log. */
const messageOf = (page: Page, id: number) => page.locator(`#messages li[data-id="${id}"]`);

/** A message's ⋯ menu, then one of its buttons (or a reaction's emoji). */
async function fromMenu(page: Page, id: number, button: string): Promise<void> {
  await messageOf(page, id).hover();
  await messageOf(page, id).locator("button.more").click();
  const dialog = page.locator("#message-dialog");
  await (button.startsWith("#") ? dialog.locator(button) : dialog.locator(`[data-emoji="${button}"]`)).click();
}

/** Replies, reactions, an edit, a mention of Ana and formatting, as Ana sees them. */
async function conversationRoom(base: string, scheme: Scheme): Promise<Person> {
  const { ana, kartik, mei } = await anaKartikMei(base, scheme, DESKTOP);
  await say(kartik.page, "The release is *tomorrow* at 10:00. Anything left?");
  await waitForInLog(ana.page, "Anything left?");
  await say(mei.page, "Only the search box. @Ana can you look at `search.ts`?");
  await waitForInLog(ana.page, "search.ts");
  await say(ana.page, "On it: it finds word starts, without accents. Trying 'cafe'…");
  await waitForInLog(mei.page, "Trying");
  await composer(ana.page).press("ArrowUp");
  await composer(ana.page).fill("On it: it finds word starts, without case or accents.");
  await composer(ana.page).press("Enter");
  await waitForInLog(kartik.page, "without case or accents.");
  await fromMenu(kartik.page, 3, "🎉");
  await fromMenu(mei.page, 3, "🎉");
  await fromMenu(mei.page, 1, "👍");
  await fromMenu(kartik.page, 2, "#message-reply");
  await say(kartik.page, "Thanks both. I'll write the release notes.");
  await waitForInLog(ana.page, "release notes");
  await messageOf(ana.page, 3).locator("button.reaction", { hasText: "🎉 2" }).waitFor();
  await messageOf(ana.page, 1).locator("button.reaction", { hasText: "👍 1" }).waitFor();
  await say(mei.page, "```\nnpm test && npm run deploy\n```");
  await waitForInLog(ana.page, "npm run deploy");
  await composer(ana.page).blur();
  return ana;
}

describe("screenshots for the README", () => {
  for (const scheme of ["light", "dark"] as const) {
    it(`a conversation: replies, reactions, an edit, a mention, ${scheme}`, async () => {
      const ana = await conversationRoom((await freshServer()).url, scheme);
      await shoot(ana.page, `conversation-${scheme}`, 1280, 800);
    });
  }

  for (const scheme of ["light", "dark"] as const) {
    it(`the landing page, ${scheme}`, async () => {
      const base = (server ?? (await freshServer())).url;
      const visitor = await person("visitor", { ...DESKTOP, colorScheme: scheme });
      await visitor.page.goto(`${base}/`);
      await visitor.page.getByRole("button", { name: "Create a private room" }).waitFor();
      await shoot(visitor.page, `landing-${scheme}`, 1280, 800);
    });
  }

  it("a busy room, light, on a desktop and on a phone", async () => {
    const { ana, kartik, typing } = await busyRoom((await freshServer()).url, "light");
    await shoot(ana.page, "room-light", 1280, 800);
    await shoot(kartik.page, "room-mobile", 360 * 2, 740 * 2);
    await typing;
  });

  for (const scheme of ["light", "dark"] as const) {
    it(`a room with a shared photo and a PDF, ${scheme}`, async () => {
      const ana = await filesRoom((await freshServer()).url, scheme);
      await shoot(ana.page, `files-${scheme}`, 1280, 800);
    });
  }

  for (const scheme of ["light", "dark"] as const) {
    it(`a moderated room with its settings open, ${scheme}`, async () => {
      const ana = await moderatedRoom((await freshServer()).url, scheme);
      await shoot(ana.page, `moderation-${scheme}`, 1280, 800);
    });
  }

  it("a busy room, dark", async () => {
    const { ana, typing } = await busyRoom((await freshServer()).url, "dark");
    await shoot(ana.page, "room-dark", 1280, 800);
    await typing;
  });
});
