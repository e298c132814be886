/**
 * What the browser tests share: Debian's Chromium driven by playwright-core,
 * one browser context per simulated person, a watch on every page for console
 * errors, CSP violations and dialogs, and small readers of the room page's DOM.
 *
 * Nothing here downloads a browser: the tests use the Chromium that is
 * installed (`CHROME_PATH`, else /usr/bin/chromium) and say what to install
 * when there is none.
 */
import { afterEach, expect } from "vitest";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { startDevServer, type DevServer, type DevServerOptions } from "../e2e/wrangler-dev";
import {
  chromium,
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  type Locator,
  type Page,
} from "playwright-core";

/** How long any single wait in these tests may take, unless it says otherwise. */
export const WAIT_MS = 10_000;

/** Chromium's flags: headless, and quiet on the network except for the app. */
export const CHROME_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const DEFAULT_CHROME = "/usr/bin/chromium";

/** The Chromium to drive: `CHROME_PATH`, else Debian's; a clear error when there is none. */
export function findChrome(): string {
  const fromEnv = process.env.CHROME_PATH;
  if (fromEnv !== undefined && fromEnv !== "") {
    if (existsSync(fromEnv)) return fromEnv;
    throw new Error(
      `CHROME_PATH is "${fromEnv}", but there is no such file. Point it at a Chromium or Chrome executable.`,
    );
  }
  if (existsSync(DEFAULT_CHROME)) return DEFAULT_CHROME;
  throw new Error(
    `The browser tests need Chromium, and there is none at ${DEFAULT_CHROME}. ` +
      "Install it (Debian/Ubuntu: sudo apt-get install -y chromium) or set CHROME_PATH to a Chromium or Chrome executable.",
  );
}

export async function launchChrome(): Promise<Browser> {
  return chromium.launch({ executablePath: findChrome(), args: CHROME_FLAGS, timeout: 30_000 });
}

/**
 * `wrangler dev` and Chromium, started side by side (Chromium starts while
 * wrangler builds). Chromium is looked for first, so that a missing one fails
 * at once; if either fails to start, the other is stopped again.
 */
export async function startServerAndBrowser(
  options: DevServerOptions = {},
): Promise<{ server: DevServer; browser: Browser }> {
  findChrome();
  const [server, browser] = await Promise.allSettled([startDevServer(options), launchChrome()]);
  if (server.status === "fulfilled" && browser.status === "fulfilled")
    return { server: server.value, browser: browser.value };
  if (server.status === "fulfilled") await server.value.stop();
  if (browser.status === "fulfilled") await browser.value.close();
  throw server.status === "rejected" ? server.reason : (browser as PromiseRejectedResult).reason;
}

/** Stops a server started for a test file, and deletes its (temporary) state directory. */
export async function stopServer(server: DevServer | undefined): Promise<void> {
  if (server === undefined) return;
  await server.stop();
  rmSync(server.stateDir, { recursive: true, force: true });
}

/** One simulated person: a page in a browser context of its own. */
export interface Person {
  name: string;
  context: BrowserContext;
  page: Page;
  /** Console errors, uncaught exceptions and CSP violations, in order. */
  problems: string[];
  /** Messages of every dialog (alert, confirm…) the page opened; each was dismissed. */
  dialogs: string[];
  close(): Promise<void>;
}

export const DESKTOP: BrowserContextOptions = { viewport: { width: 1280, height: 800 } };
export const MOBILE: BrowserContextOptions = {
  viewport: { width: 360, height: 740 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
};

/**
 * A new context with one page, watched. A CSP violation is reported twice on
 * purpose: Chromium logs it as a console error, and the page's own
 * `securitypolicyviolation` event is turned into a second, precise entry.
 */
export async function newPerson(
  browser: Browser,
  name: string,
  options: BrowserContextOptions = DESKTOP,
): Promise<Person> {
  const context = await browser.newContext(options);
  context.setDefaultTimeout(WAIT_MS);
  context.setDefaultNavigationTimeout(WAIT_MS);
  // (A string: these files are typechecked without the DOM's types.)
  await context.addInitScript({
    content: `document.addEventListener("securitypolicyviolation", (event) => {
      console.error("CSP violation: " + event.violatedDirective + " blocked " + (event.blockedURI || "inline code"));
    });`,
  });
  const page = await context.newPage();
  const person: Person = { name, context, page, problems: [], dialogs: [], close: () => context.close() };
  page.on("console", (message) => {
    if (message.type() === "error") person.problems.push(`console error: ${message.text()}`);
  });
  page.on("pageerror", (error) => person.problems.push(`uncaught: ${error.message}`));
  page.on("dialog", (dialog) => {
    person.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    dialog.dismiss().catch(() => undefined);
  });
  return person;
}

/** The problems of these people, minus those `allowed` matches, as "name: problem" lines. */
export function problemsOf(people: Iterable<Person>, allowed?: RegExp): string[] {
  const found: string[] = [];
  for (const person of people) {
    for (const problem of person.problems)
      if (allowed === undefined || !allowed.test(problem)) found.push(`${person.name}: ${problem}`);
    for (const dialog of person.dialogs) found.push(`${person.name}: dialog ${dialog}`);
  }
  return found;
}

// --- the room page -------------------------------------------------------------

/**
 * Opens people for the tests of a file, each in a browser context of their
 * own. After every test, everyone it opened is checked (no console error, CSP
 * violation or dialog beyond `allowed`) and closed.
 */
export function peoplePerTest(
  browser: () => Browser,
  allowed?: RegExp,
): (name: string, options?: BrowserContextOptions) => Promise<Person> {
  let people: Person[] = [];
  afterEach(async () => {
    const seen = people;
    people = [];
    try {
      expect(problemsOf(seen, allowed), "console errors, CSP violations or dialogs").toEqual([]);
    } finally {
      await Promise.all(seen.map((each) => each.close()));
    }
  });
  return async (name, options) => {
    const created = await newPerson(browser(), name, options);
    people.push(created);
    return created;
  };
}

export const messageLog = (page: Page): Locator => page.getByRole("log");
export const nickInput = (page: Page): Locator => page.locator("#nick");
export const composer = (page: Page): Locator => page.locator("#text");
export const statusLine = (page: Page): Locator => page.locator("#status");

/** Keeps the page's sockets within reach (`window.__sockets`), so that a
 * test can cut the connection. Before the page loads. */
export async function keepSockets(person: Person): Promise<void> {
  await person.context.addInitScript({
    content: `window.__sockets = [];
      window.WebSocket = class extends WebSocket {
        constructor(...args) { super(...args); window.__sockets.push(this); }
      };`,
  });
}

/** The network goes and the connection with it: the page waits to reconnect ("Retry now"). */
export async function dropConnection(person: Person): Promise<void> {
  await person.context.setOffline(true);
  await person.page.evaluate("window.__sockets.forEach((socket) => socket.close())");
  await person.page.locator("#retry-now").waitFor();
}

/** Opens `room` and joins as `nick`; resolves once the chat is shown. */
export async function joinRoom(person: Person, baseUrl: string, room: string, nick: string): Promise<void> {
  await person.page.goto(`${baseUrl}/r/${room}`);
  await submitNick(person.page, nick);
  await person.page.locator("#chat-view").waitFor({ state: "visible" });
}

/** Types a nickname into the join form and sends it (the answer is not awaited). */
export async function submitNick(page: Page, nick: string): Promise<void> {
  await nickInput(page).fill(nick);
  await nickInput(page).press("Enter");
}

/** Writes `text` in the composer and presses Enter, as a person does. */
export async function say(page: Page, text: string): Promise<void> {
  await composer(page).fill(text);
  await composer(page).press("Enter");
}

/** The text of every entry (message, notice, date) of the log, in order. */
export const logEntries = (page: Page): Promise<string[]> => messageLog(page).locator("li").allTextContents();

/** How many entries of the log contain `text`: 1 for a message delivered once. */
export async function countInLog(page: Page, text: string): Promise<number> {
  return (await logEntries(page)).filter((entry) => entry.includes(text)).length;
}

/** The log entry that holds `text` (the only one: tests use unique texts). */
export const entryWith = (page: Page, text: string): Locator => messageLog(page).locator("li", { hasText: text });

/**
 * The delivery state (`data-state`) of the log entry holding `text`: null when
 * it has none, "absent" when no entry holds the text. Does not wait.
 */
export async function deliveryState(page: Page, text: string): Promise<string | null> {
  const entry = entryWith(page, text);
  if ((await entry.count()) === 0) return "absent";
  return entry.first().getAttribute("data-state");
}

/** Waits until `text` is in the log of `page`. */
export async function waitForInLog(page: Page, text: string, timeout = WAIT_MS): Promise<void> {
  await entryWith(page, text).first().waitFor({ state: "visible", timeout });
}

/** The names in the roster, "(you)" left out, sorted. */
export async function rosterNames(page: Page): Promise<string[]> {
  const items = await page.locator("#roster-list li").allTextContents();
  return items.map((item) => item.replace(/\s*\(you\)\s*$/, "").trim()).sort();
}

/**
 * Calls `read` until `done` holds for what it returns, at most `timeout` ms;
 * returns the last value read either way, for an assertion to judge.
 */
export async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeout = WAIT_MS,
): Promise<T> {
  const deadline = Date.now() + timeout;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}

// --- accessibility ----------------------------------------------------------------

/** axe-core's WCAG 2.0 and 2.1 rules at levels A and AA. */
const WCAG_AA_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
let axeSource: string | undefined;

/**
 * Runs axe-core's WCAG 2.1 A and AA rules on the page as it is now (shown
 * elements only, as axe does); returns one line per violation with the
 * elements it found, or [] when the page passes. axe is evaluated through
 * the DevTools protocol, which the page's CSP does not govern, so the
 * page's own policy stays as strict as in production.
 */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
  // (Strings: these files are typechecked without the DOM's types.)
  if (!(await page.evaluate("typeof window.axe === 'object'"))) await page.evaluate(axeSource);
  return page.evaluate(`(async () => {
    const result = await window.axe.run(document, { runOnly: { type: "tag", values: ${JSON.stringify(WCAG_AA_TAGS)} } });
    return result.violations.map((violation) =>
      violation.id + ": " + violation.help + " — " +
      violation.nodes.map((node) => node.target.join(" ") + (node.failureSummary ? " (" + node.failureSummary.replace(/\\s+/g, " ") + ")" : "")).join("; "));
  })()`);
}

// --- screenshots ------------------------------------------------------------------

/** Where screenshots go: docs/screenshots/ with UPDATE_SCREENSHOTS=1 (for
 * the README), else a temporary folder, so a test run leaves the tree clean. */
let screenshots: string | undefined;
const screenshotFolder = (): string =>
  (screenshots ??= process.env.UPDATE_SCREENSHOTS
    ? fileURLToPath(new URL("../../docs/screenshots/", import.meta.url))
    : mkdtempSync(join(tmpdir(), "edge-chat-screenshots-")));

/** Saves the page's viewport as `name`.png in the screenshot folder and checks its size in pixels. */
export async function shoot(page: Page, name: string, width: number, height: number): Promise<void> {
  mkdirSync(screenshotFolder(), { recursive: true });
  const path = join(screenshotFolder(), `${name}.png`);
  await page.screenshot({ path, animations: "disabled", caret: "hide" });
  const png = readFileSync(path);
  expect(png.subarray(1, 4).toString("latin1"), `${name}.png is a PNG`).toBe("PNG");
  expect([png.readUInt32BE(16), png.readUInt32BE(20)], `${name}.png's size`).toEqual([width, height]);
}
