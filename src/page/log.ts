/**
 * The message list: messages, notices and day separators in the room's order;
 * below them the user's own messages still on their way (pending or failed);
 * above them older pages fetched on demand. It follows the conversation only
 * while the reader is at its end, and otherwise offers a "new messages" button.
 */
import { formatFileSize, isInlineImage } from "../shared/files";
import { parseMarkdown, type Span } from "../shared/markdown";
import type { FileInfo, MessageFrame, User } from "../shared/protocol";
import { reactionsOf } from "../core/messages";
import { el } from "./dom";
import { linkify } from "./linkify";

/** Messages from one sender closer together than this share one header. */
const GROUP_WITHIN_MS = 5 * 60_000;
/** The oldest entries go beyond this, to keep long sessions light. */
const MAX_ENTRIES = 1_000;
/** How close to an end of the list counts as being there, in pixels. */
const NEAR_END = 60;
const NEAR_TOP = 80;

/** What the next message is compared with to group it or start a new day;
 * `from` is null after a notice or an action, which end a group. */
type Chain = { from: string | null; ts: number } | null;

export type Delivery = "pending" | "sent" | "failed";

export interface LogOptions {
  /** The user's own id, once known: their messages get `mine` and data-state,
   * their reactions aria-pressed, messages that mention them `mention`. */
  me(): string | undefined;
  /** A user's nickname by id, for who reacted ("someone" when unknown). */
  nameOf(id: string): string;
  /** Asks the room for the messages before `before`; false when it cannot now. */
  loadOlder(before: number): boolean;
}

/** One of eight colours for a user, the same on every page. */
export function hue(id: string): number {
  let hash = 0;
  for (let i = 0; i < id.length; i++) hash = (hash * 31 + id.charCodeAt(i)) >>> 0;
  return hash % 8;
}

const pad = (n: number): string => String(n).padStart(2, "0");
const dayOf = (ts: number): string => new Date(ts).toDateString();

function timeElement(ts: number): HTMLTimeElement {
  const date = new Date(ts);
  const time = el("time", undefined, `${pad(date.getHours())}:${pad(date.getMinutes())}`);
  time.dateTime = date.toISOString();
  time.title = date.toLocaleString(undefined, { dateStyle: "full", timeStyle: "medium" });
  return time;
}

function daySeparator(ts: number): HTMLLIElement {
  const item = el("li", "day", new Date(ts).toLocaleDateString(undefined, { dateStyle: "full" }));
  item.dataset.day = dayOf(ts);
  return item;
}

/** The text of a message, or "* Nick waves" for an action, with its
 * Markdown (shared/markdown.ts) as elements and its links as anchors. */
function textOf(from: User, text: string, action: boolean): HTMLDivElement {
  const body = el("div", "text");
  if (action) body.append("* ", el("span", `sender hue-${hue(from.id)}`, from.nick), " ");
  for (const block of parseMarkdown(text)) {
    if (block.kind === "text") body.append(...spansOf(block.spans));
    else {
      const pre = el("pre");
      pre.append(el("code", undefined, block.text));
      body.append(pre);
    }
  }
  return body;
}

function spansOf(spans: Span[]): (string | Node)[] {
  return spans.flatMap((span): (string | Node)[] => {
    if (span.kind === "text") return linkify(span.text);
    if (span.kind === "code") return [el("code", undefined, span.text)];
    const styled = el(span.kind === "bold" ? "strong" : "em");
    styled.append(...spansOf(span.children));
    return [styled];
  });
}

/** A reply's quote of what it answers: a button that jumps to it. */
function quoteOf(quote: NonNullable<MessageFrame["replyTo"]>): HTMLButtonElement {
  const button = el("button", "reply-quote");
  button.type = "button";
  button.dataset.jump = String(quote.id);
  button.append(el("span", "sender", quote.from.nick), quote.deleted ? " · Message deleted" : `: ${quote.text}`);
  button.title = "Show the message this one answers";
  return button;
}

/** The reactions under a message: a button per emoji with its count, pressed
 * when one of them is ours; who chose it in its title and label (the first
 * ten, and how many more, when a crowd did). */
function reactionBar(message: MessageFrame, me: string | undefined, nameOf: (id: string) => string) {
  const bar = el("div", "reactions");
  for (const { emoji, count, users, mine } of reactionsOf(message, me)) {
    const button = el("button", "reaction", `${emoji} ${count}`);
    button.type = "button";
    button.dataset.emoji = emoji;
    button.setAttribute("aria-pressed", String(mine));
    const names = users.map((id) => (id === me ? "you" : nameOf(id)));
    if (count > users.length) names.push(`${count - users.length} more`);
    const who = names.join(", ");
    button.title = `${emoji} ${who}`;
    // The visible text first (WCAG's label in name), then who.
    button.setAttribute("aria-label", `${emoji} ${count}: ${who}`);
    bar.append(button);
  }
  return bar;
}

/** A shared file: an image as a thumbnail that opens full size, anything
 * else as a card with its name, type and size that downloads it. */
function fileOf(file: FileInfo): HTMLElement {
  const details = `${file.type} · ${formatFileSize(file.size)}`;
  if (isInlineImage(file.type)) {
    const link = el("a", "file image");
    link.href = file.url;
    link.target = "_blank";
    link.rel = "noopener";
    link.title = `${file.name} (${details}): open full size`;
    const image = el("img");
    image.src = file.url;
    image.alt = file.name;
    image.loading = "lazy";
    image.decoding = "async";
    link.append(image);
    return link;
  }
  const card = el("a", "file card");
  card.href = file.url;
  card.download = file.name;
  card.title = `Download ${file.name}`;
  const icon = el("span", "file-icon", (file.name.match(/\.([a-z0-9]{1,5})$/i)?.[1] ?? "file").toUpperCase());
  icon.setAttribute("aria-hidden", "true");
  const text = el("span", "file-text");
  text.append(el("span", "file-name", file.name), el("span", "file-details", details));
  card.append(icon, text, el("span", "file-download", "Download"));
  return card;
}

/** "(edited)", with when in its title. */
function editedMark(ts: number): HTMLElement {
  const mark = el("span", "edited", "(edited)");
  mark.title = `Edited ${new Date(ts).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" })}`;
  return mark;
}

/** What a deleted message shows in its place. */
export const DELETED_TEXT = "Message deleted";

function messageItem(
  message: MessageFrame,
  grouped: boolean,
  options: LogOptions,
  deletedText = DELETED_TEXT,
): HTMLLIElement {
  const me = options.me();
  const mine = message.from.id === me;
  const item = el("li", "message");
  if (me !== undefined && message.mentions?.includes(me) === true && !message.deleted) item.classList.add("mention");
  item.dataset.id = String(message.id);
  item.dataset.from = message.from.id;
  item.dataset.ts = String(message.ts);
  if (mine) {
    item.classList.add("mine");
    item.dataset.state = "sent";
    if (message.cid !== undefined) item.dataset.cid = message.cid;
  }
  const time = timeElement(message.ts);
  if (message.deleted) {
    // A tombstone keeps its place, its sender and its time; nothing to act on.
    item.classList.add("deleted");
    if (grouped) item.classList.add("grouped");
    const meta = el("p", "meta");
    meta.append(el("span", `sender hue-${hue(message.from.id)}`, message.from.nick), " ", time);
    item.append(meta, el("p", "text tombstone", deletedText));
    return item;
  }
  // The message's menu (message-menu.ts): what may be done with it.
  const more = el("button", "more ghost", "⋯");
  more.type = "button";
  more.setAttribute("aria-haspopup", "dialog");
  more.setAttribute("aria-label", `Actions for ${message.from.nick}'s message at ${time.textContent}`);
  if (message.replyTo !== undefined) item.append(quoteOf(message.replyTo));
  if (message.action) {
    item.classList.add("action");
    item.append(time, textOf(message.from, message.text, true));
    if (message.edited !== undefined) item.append(editedMark(message.edited));
  } else {
    if (grouped && message.replyTo === undefined) item.classList.add("grouped");
    const meta = el("p", "meta");
    meta.append(el("span", `sender hue-${hue(message.from.id)}`, message.from.nick), " ", time);
    if (message.edited !== undefined) meta.append(" ", editedMark(message.edited));
    item.append(meta);
    if (message.text !== "") item.append(textOf(message.from, message.text, false));
    if (message.file !== undefined) item.append(fileOf(message.file));
  }
  if (message.reactions !== undefined) item.append(reactionBar(message, me, options.nameOf));
  // After the content: read after the message, placed at its top right.
  item.append(more);
  return item;
}

/** The parts of an upload's entry that change while it runs. */
export interface UploadItem {
  item: HTMLLIElement;
  progress: HTMLProgressElement;
  percent: HTMLElement;
  cancel: HTMLButtonElement;
}

/** An own file on its way: name, size, a progress bar and Cancel. The room's
 * message replaces it once the file is shared. */
export function uploadItem(me: User, file: { name: string; size: number }): UploadItem {
  const item = el("li", "message mine outgoing upload");
  item.dataset.state = "pending";
  const meta = el("p", "meta");
  meta.append(el("span", `sender hue-${hue(me.id)}`, me.nick));
  const name = el("p", "file-name", file.name);
  const row = el("div", "upload-row");
  const progress = el("progress");
  progress.max = 1;
  progress.value = 0;
  progress.setAttribute("aria-label", `Uploading ${file.name}`);
  const percent = el("span", "upload-percent", uploadProgressText(0, file.size));
  const cancel = el("button", "ghost", "Cancel");
  cancel.type = "button";
  cancel.setAttribute("aria-label", `Cancel the upload of ${file.name}`);
  row.append(progress, percent, cancel);
  item.append(meta, name, row);
  return { item, progress, percent, cancel };
}

/** "45% of 1.3 MB" */
export const uploadProgressText = (sent: number, size: number): string =>
  `${Math.floor(sent * 100)}% of ${formatFileSize(size)}`;

/** Turns an upload's entry into its failure, with a way to dismiss it. */
export function uploadFailed(upload: UploadItem, why: string): void {
  upload.item.dataset.state = "failed";
  upload.progress.remove();
  upload.percent.remove();
  upload.cancel.textContent = "Dismiss";
  upload.cancel.setAttribute("aria-label", "Dismiss");
  upload.cancel.before(el("span", "delivery", `Not shared: ${why}`));
}

/** An own message not yet confirmed by the room: `data-cid` ties it to its echo. */
export function outgoingItem(cid: string, me: User, text: string, action: boolean): HTMLLIElement {
  const item = el("li", "message mine outgoing");
  item.dataset.cid = cid;
  if (action) {
    item.classList.add("action");
    item.append(textOf(me, text, true));
  } else {
    const meta = el("p", "meta");
    meta.append(el("span", `sender hue-${hue(me.id)}`, me.nick));
    item.append(meta, textOf(me, text, false));
  }
  setDelivery(item, "pending");
  return item;
}

/** Marks an outgoing item pending ("sending…") or failed (why, then Retry and Discard). */
export function setDelivery(item: HTMLLIElement, state: "pending" | "failed", why = ""): void {
  item.dataset.state = state;
  item.querySelector(":scope > .delivery")?.remove();
  const text = item.querySelector(":scope > .text");
  if (text === null) return;
  if (state === "pending") {
    // Floated to the right of the text's first line, so nothing moves when it goes.
    text.before(el("span", "delivery", "sending…"));
    return;
  }
  text.id = `text-${item.dataset.cid}`;
  const line = el("p", "delivery");
  line.append(el("span", undefined, why));
  for (const [action, label] of [
    ["retry", "Retry"],
    ["discard", "Discard"],
  ] as const) {
    const button = el("button", "ghost", label);
    button.type = "button";
    button.dataset.do = action;
    // "Retry" alone does not say which message: its text is the description.
    button.setAttribute("aria-describedby", text.id);
    line.append(" ", button);
  }
  text.after(line);
}

export class MessageLog {
  readonly #list: HTMLOListElement;
  readonly #edge: HTMLLIElement;
  readonly #older: HTMLButtonElement;
  readonly #start: HTMLElement;
  readonly #jump: HTMLButtonElement;
  readonly #options: LogOptions;
  /** The newest confirmed entry, for grouping and day separators. */
  #chain: Chain = null;
  /** Messages added below the view since the reader was last at the end. */
  #unseen = 0;
  /** The reader was at the end when last seen scrolling. */
  #pinned = true;
  /** The `before` of the history request on its way, if one is. */
  #requested: number | undefined;
  /** The first message of the room is shown: nothing older to ask for. */
  #complete = false;

  constructor(
    parts: {
      list: HTMLOListElement;
      edge: HTMLLIElement;
      older: HTMLButtonElement;
      start: HTMLElement;
      jump: HTMLButtonElement;
    },
    options: LogOptions,
  ) {
    this.#list = parts.list;
    this.#edge = parts.edge;
    this.#older = parts.older;
    this.#start = parts.start;
    this.#jump = parts.jump;
    this.#options = options;
    this.#list.addEventListener(
      "scroll",
      () => {
        this.#pinned = this.#atEnd();
        if (this.#pinned) this.#seen();
        if (this.#list.scrollTop < NEAR_TOP && this.#list.scrollHeight > this.#list.clientHeight) this.#loadOlder();
      },
      { passive: true },
    );
    // The list shrinks when the composer grows, the top bar wraps or an
    // on-screen keyboard opens: a reader at the end stays there.
    new ResizeObserver(() => {
      if (this.#pinned) this.#list.scrollTop = this.#list.scrollHeight;
    }).observe(this.#list);
    // An image that loads grows its message: a reader at the end stays there.
    // (Load events do not bubble; they can be caught on the way down.)
    this.#list.addEventListener(
      "load",
      () => {
        if (this.#pinned) this.#list.scrollTop = this.#list.scrollHeight;
      },
      true,
    );
    // An image that no longer loads went with old messages (retention): say so.
    this.#list.addEventListener(
      "error",
      (event) => {
        const link = event.target instanceof HTMLImageElement ? event.target.closest("a.file.image") : null;
        if (link !== null)
          link.replaceWith(el("p", "file gone", `${(event.target as HTMLImageElement).alt}: no longer available`));
      },
      true,
    );
    this.#older.addEventListener("click", () => this.#loadOlder());
    this.#jump.addEventListener("click", () => {
      this.scrollToEnd();
      this.#list.focus({ preventScroll: true });
    });
  }

  /** The first welcome's history: the room's newest messages. */
  start(history: MessageFrame[]): void {
    this.add(history);
    const first = history[0];
    this.#complete = first === undefined || first.id <= 1;
    this.#renderEdge();
    this.scrollToEnd();
  }

  /** New messages from the room, oldest first. */
  add(messages: MessageFrame[]): void {
    const entries: HTMLElement[] = [];
    for (const message of messages) this.#chain = this.#render(message, entries, this.#chain);
    this.#insert(entries, messages.length);
  }

  /** A line such as "Ana joined" in the flow of messages. */
  notice(text: string): void {
    if (this.#chain !== null) this.#chain = { from: null, ts: this.#chain.ts };
    this.#insert([el("li", "event", text)], 0);
  }

  /** An own message on its way, at the very end (after earlier ones still on theirs). */
  addOutgoing(item: HTMLLIElement): void {
    item.remove(); // When retried: it moves to the end.
    item.classList.remove("grouped");
    const last = this.#list.lastElementChild;
    if (
      !item.classList.contains("action") &&
      last instanceof HTMLElement &&
      last.matches(".mine:not(.action)") &&
      (last.classList.contains("outgoing") || Date.now() - Number(last.dataset.ts) < GROUP_WITHIN_MS)
    ) {
      item.classList.add("grouped");
    }
    this.#list.append(item);
    this.scrollToEnd();
  }

  /** The id of the oldest message shown, if any. */
  oldestId(): number | undefined {
    const item = this.#list.querySelector<HTMLElement>(":scope > [data-id]");
    return item === null ? undefined : Number(item.dataset.id);
  }

  /** A page of older messages (the answer to loadOlder), shown above the
   * others without moving what the reader is looking at. */
  prepend(before: number, messages: MessageFrame[], complete: boolean): void {
    if (before !== this.#requested) return; // Not the answer awaited.
    this.#requested = undefined;
    if (before !== this.oldestId()) return this.#renderEdge(); // The list was trimmed meanwhile.
    const fromBottom = this.#list.scrollHeight - this.#list.scrollTop;
    if (complete || messages.length === 0) this.#complete = true;
    const entries: HTMLElement[] = [];
    let chain: Chain = null;
    for (const message of messages) chain = this.#render(message, entries, chain);
    const next = this.#edge.nextElementSibling;
    if (chain !== null && next instanceof HTMLElement && next.dataset.day === dayOf(chain.ts)) {
      // The same day goes on: one separator for it, and maybe one group.
      const after = next.nextElementSibling;
      next.remove();
      if (after instanceof HTMLElement && continues(after, chain)) after.classList.add("grouped");
    }
    this.#edge.after(...entries);
    this.#renderEdge();
    this.#list.scrollTop = this.#list.scrollHeight - fromBottom;
  }

  /** A message changed (edited, or deleted: then its tombstone says
   * `deletedText`): its item is drawn again in its place. Focus inside it
   * (its menu button) goes to the list. */
  redraw(message: MessageFrame, deletedText?: string): void {
    const item = this.#list.querySelector<HTMLLIElement>(`:scope > li[data-id="${message.id}"]`);
    if (item === null) return;
    const again = messageItem(message, item.classList.contains("grouped"), this.#options, deletedText);
    const focused = item.contains(document.activeElement);
    item.replaceWith(again);
    if (focused) this.#list.focus({ preventScroll: true });
  }

  /** The history cleared: everything shown goes (our own on their way stay),
   * and there is nothing older to load. */
  clear(): void {
    this.restart();
    this.#complete = true;
    this.#renderEdge();
  }

  /** A resume that skipped messages (welcome.truncated): the list starts
   * again, so that scrolling up loads everything in between in order. */
  restart(): void {
    let entry = this.#edge.nextElementSibling;
    while (entry !== null && !entry.classList.contains("outgoing")) {
      const next = entry.nextElementSibling;
      entry.remove();
      entry = next;
    }
    this.#chain = null;
    this.#complete = false;
    this.#requested = undefined;
    this.#renderEdge();
  }

  /** A new connection, or a refused request: no answer is coming. */
  reset(): void {
    this.#requested = undefined;
    this.#renderEdge();
  }

  /** Shows message `id` in the middle of the list, focused and marked for a
   * moment; false when it is not on the page. */
  show(id: number): boolean {
    const item = this.#list.querySelector<HTMLLIElement>(`:scope > li[data-id="${id}"]`);
    if (item === null) return false;
    item.tabIndex = -1;
    item.scrollIntoView({ block: "center" });
    item.focus({ preventScroll: true });
    item.classList.remove("flash");
    void item.offsetWidth; // restart the animation
    item.classList.add("flash");
    this.#pinned = this.#atEnd();
    return true;
  }

  /** Loads one more page of older messages (for a jump to an older one);
   * false when there is nothing older or a page is already on its way. */
  loadOlder(): boolean {
    if (this.#complete || this.#requested !== undefined) return false;
    this.#loadOlder();
    return this.#requested !== undefined;
  }

  /** "New since your last visit" before the first message after `lastRead`
   * (not our own); returns that message's id, if there is one. */
  markUnread(lastRead: number): number | undefined {
    const me = this.#options.me();
    for (const item of this.#list.querySelectorAll<HTMLElement>(":scope > .message[data-id]")) {
      if (Number(item.dataset.id) <= lastRead || item.dataset.from === me) continue;
      const divider = el("li", "unread", "New since your last visit");
      divider.id = "unread";
      item.before(divider);
      return Number(item.dataset.id);
    }
    return undefined;
  }

  /** Whether the reader is at the end of the list (sees the newest). */
  atEnd(): boolean {
    return this.#atEnd();
  }

  scrollToEnd(): void {
    this.#list.scrollTop = this.#list.scrollHeight;
    this.#pinned = true;
    this.#seen();
  }

  #render(message: MessageFrame, entries: HTMLElement[], chain: Chain): Chain {
    if (chain === null || dayOf(chain.ts) !== dayOf(message.ts)) {
      entries.push(daySeparator(message.ts));
      chain = null;
    }
    const grouped =
      chain !== null && !message.action && chain.from === message.from.id && message.ts - chain.ts < GROUP_WITHIN_MS;
    entries.push(messageItem(message, grouped, this.#options));
    return { from: message.action ? null : message.from.id, ts: message.ts };
  }

  /** Adds confirmed entries after the others, before any own message still on its way. */
  #insert(entries: HTMLElement[], messages: number): void {
    if (entries.length === 0) return;
    const follow = this.#atEnd();
    const outgoing = this.#list.querySelector(":scope > .outgoing");
    if (outgoing === null) this.#list.append(...entries);
    else outgoing.before(...entries);
    if (follow) {
      this.#trim();
      this.scrollToEnd();
    } else if (messages > 0) {
      this.#unseen += messages;
      this.#jump.textContent = `${this.#unseen} new message${this.#unseen === 1 ? "" : "s"} ↓`;
      this.#jump.hidden = false;
    }
  }

  #atEnd(): boolean {
    return this.#list.scrollHeight - this.#list.scrollTop - this.#list.clientHeight < NEAR_END;
  }

  #seen(): void {
    this.#unseen = 0;
    this.#jump.hidden = true;
  }

  #loadOlder(): void {
    const before = this.oldestId();
    if (this.#requested !== undefined || this.#complete || before === undefined) return;
    if (!this.#options.loadOlder(before)) return;
    this.#requested = before;
    this.#renderEdge();
  }

  #renderEdge(): void {
    this.#edge.hidden = false;
    this.#older.hidden = this.#complete;
    this.#start.hidden = !this.#complete;
    // aria-disabled rather than disabled, so that the button keeps the focus.
    const loading = String(this.#requested !== undefined);
    this.#older.setAttribute("aria-disabled", loading);
    this.#older.setAttribute("aria-busy", loading);
  }

  /** Drops the oldest entries beyond MAX_ENTRIES (they can be loaded again). */
  #trim(): void {
    let excess = this.#list.childElementCount - MAX_ENTRIES;
    if (excess <= 0) return;
    for (; excess > 0; excess--) {
      const first = this.#edge.nextElementSibling;
      if (first === null || first.classList.contains("outgoing")) break;
      first.remove();
    }
    const first = this.#edge.nextElementSibling;
    if (first instanceof HTMLElement && first.dataset.ts !== undefined) {
      first.classList.remove("grouped");
      first.before(daySeparator(Number(first.dataset.ts)));
    }
    this.#complete = false;
    this.#renderEdge();
  }
}

/** True when `item` is a message that goes on the group that `chain` ends. */
function continues(item: HTMLElement, chain: NonNullable<Chain>): boolean {
  return (
    item.matches(".message:not(.action)") &&
    item.dataset.from === chain.from &&
    Number(item.dataset.ts) - chain.ts < GROUP_WITHIN_MS
  );
}
