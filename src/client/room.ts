/**
 * The room page: pick a nickname, then chat. The socket side lives in
 * connection.ts; this file turns frames into the page and the page into frames.
 */
import {
  codePointLength,
  parseNick,
  parseRoomName,
  type ErrorFrame,
  type MessageFrame,
  type ServerFrame,
  type User,
  type WelcomeFrame,
} from "../protocol";
import { ChatConnection, type Status } from "./connection";
import { byId, el, setFieldError } from "./dom";
import { rememberRoom, saveNick, savedNick } from "./store";

const TYPING_SEND_EVERY_MS = 2_000;
const TYPING_SHOWN_MS = 3_000;
const NOTICE_SHOWN_MS = 6_000;
/** Messages from one sender closer together than this share one header. */
const GROUP_WITHIN_MS = 5 * 60_000;
/** The oldest entries of the log go beyond this, to keep long sessions light. */
const MAX_LOG_ENTRIES = 1_000;

const statusLine = byId("status", HTMLElement);
const joinView = byId("join-view", HTMLElement);
const joinForm = byId("join-form", HTMLFormElement);
const nickInput = byId("nick", HTMLInputElement);
const nickError = byId("nick-error", HTMLParagraphElement);
const joinButton = byId("join-button", HTMLButtonElement);
const chatView = byId("chat-view", HTMLElement);
const log = byId("messages", HTMLOListElement);
const rosterBox = byId("roster", HTMLDetailsElement);
const rosterCount = byId("roster-count", HTMLElement);
const rosterList = byId("roster-list", HTMLUListElement);
const typingLine = byId("typing", HTMLParagraphElement);
const notice = byId("notice", HTMLParagraphElement);
const composer = byId("composer", HTMLFormElement);
const textInput = byId("text", HTMLTextAreaElement);
const copyButton = byId("copy-link", HTMLButtonElement);

const room = roomFromPath(location.pathname);

function roomFromPath(path: string): string | null {
  const segment = /^\/r\/([^/]+)\/?$/.exec(path)?.[1];
  return segment === undefined ? null : parseRoomName(segment);
}

// --- state -------------------------------------------------------------------

let me: User | null = null;
let limits: WelcomeFrame["limits"] | null = null;
const members = new Map<string, User>();
const typists = new Map<string, { nick: string; timer: ReturnType<typeof setTimeout> }>();
let typingSentAt = 0;
/** Texts sent and not yet seen back, by cid (random, so only ours match): put
 * back in the composer if refused or lost. */
const unconfirmed = new Map<string, string>();
/** The last message shown, to group a sender's messages and mark new days;
 * `from` is null after a notice, which ends a group. */
let previous: { from: string | null; ts: number } | null = null;
let unread = 0;
let noticeTimer: ReturnType<typeof setTimeout> | undefined;

const connection =
  room === null
    ? null
    : new ChatConnection(
        `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/api/rooms/${room}/websocket`,
        { frame: onFrame, status: onStatus },
      );

// --- connection --------------------------------------------------------------

const STATUS_LABELS: Record<Status, string> = {
  connecting: "Connecting…",
  online: "Online",
  reconnecting: "Reconnecting…",
  offline: "Offline",
};

function onStatus(status: Status, reason?: string): void {
  statusLine.hidden = false;
  statusLine.textContent = STATUS_LABELS[status];
  statusLine.dataset.state = status;
  if (status !== "offline") return;
  if (reason !== undefined) showNotice(reason, false);
  if (!joinView.hidden) {
    joinButton.disabled = false;
    if (nickError.hidden) setFieldError(nickInput, nickError, "Could not reach the room. Please try again.");
  }
}

function onFrame(frame: ServerFrame): void {
  switch (frame.type) {
    case "welcome":
      return onWelcome(frame);
    case "message":
      stopTyping(frame.from.id);
      if (frame.cid !== undefined) unconfirmed.delete(frame.cid);
      if (document.hidden) countUnread(1);
      return addToLog(messageEntries(frame));
    case "joined":
      members.set(frame.user.id, frame.user);
      renderRoster();
      return addNotice(`${frame.user.nick} joined`);
    case "left":
      members.delete(frame.user.id);
      stopTyping(frame.user.id);
      renderRoster();
      return addNotice(`${frame.user.nick} left`);
    case "renamed":
      return onRenamed(frame.user, frame.from);
    case "typing":
      if (frame.user.id !== me?.id) startTyping(frame.user);
      return;
    case "error":
      return onError(frame);
  }
}

function onWelcome(frame: WelcomeFrame): void {
  const first = me === null;
  me = frame.you;
  limits = frame.limits;
  nickInput.maxLength = limits.nickLength;
  saveNick(me.nick);
  if (room !== null) rememberRoom(room);
  members.clear();
  for (const user of frame.users) members.set(user.id, user);
  renderRoster();
  for (const typist of typists.keys()) stopTyping(typist);

  if (frame.truncated) addNotice("Some messages sent while you were away could not be loaded.");
  addToLog(frame.history.flatMap(messageEntries));
  for (const message of frame.history) if (message.cid !== undefined) unconfirmed.delete(message.cid);
  if (!first && !frame.truncated && unconfirmed.size > 0) {
    // Sent just before the connection dropped, and not in the history the
    // room sent back: they never arrived. Offer them again.
    restoreText([...unconfirmed.values()].join("\n"));
    showNotice("Your last message did not reach the room; it is back in the box.");
  }
  unconfirmed.clear();

  if (!joinView.hidden) {
    joinView.hidden = true;
    chatView.hidden = false;
    textInput.focus();
  }
  scrollToEnd();
}

function onRenamed(user: User, from: string): void {
  if (user.nick === from) return; // A rename to the same name, confirmed to us alone.
  members.set(user.id, user);
  renderRoster();
  const typist = typists.get(user.id);
  if (typist !== undefined) typist.nick = user.nick;
  if (user.id === me?.id) {
    me = user;
    saveNick(user.nick);
    connection?.renamed(user.nick);
    addNotice(`You are now ${user.nick}`);
  } else {
    addNotice(`${from} is now ${user.nick}`);
  }
}

function onError(frame: ErrorFrame): void {
  if (connection?.joined !== true) {
    // A refused join (a taken or invalid nickname, a full room): ask again.
    joinView.hidden = false;
    chatView.hidden = true;
    joinButton.disabled = false;
    setFieldError(nickInput, nickError, frame.message);
    nickInput.focus();
    return;
  }
  const text = frame.cid === undefined ? undefined : unconfirmed.get(frame.cid);
  if (text !== undefined && frame.cid !== undefined) {
    unconfirmed.delete(frame.cid);
    restoreText(text);
  }
  showNotice(frame.message);
}

// --- the log -----------------------------------------------------------------

const pad = (n: number): string => String(n).padStart(2, "0");

/** A message, preceded by the date when it starts a new day. */
function messageEntries(message: MessageFrame): HTMLElement[] {
  const entries: HTMLElement[] = [];
  const date = new Date(message.ts);
  if (previous === null || new Date(previous.ts).toDateString() !== date.toDateString()) {
    entries.push(el("li", "day", date.toLocaleDateString(undefined, { dateStyle: "full" })));
    previous = null;
  }
  const grouped = previous?.from === message.from.id && message.ts - previous.ts < GROUP_WITHIN_MS;
  previous = { from: message.from.id, ts: message.ts };

  const item = el("li", "message");
  if (grouped) item.classList.add("grouped");
  if (message.from.id === me?.id) item.classList.add("mine");
  const header = el("p", "meta");
  const sender = el("span", `sender hue-${hue(message.from.id)}`, message.from.nick);
  const time = el("time", undefined, `${pad(date.getHours())}:${pad(date.getMinutes())}`);
  time.dateTime = date.toISOString();
  time.title = date.toLocaleString();
  header.append(sender, " ", time);
  item.append(header, el("p", "text", message.text));
  entries.push(item);
  return entries;
}

/** One of eight colours for a user, the same on every page. */
function hue(id: string): number {
  let hash = 0;
  for (let i = 0; i < id.length; i++) hash = (hash * 31 + id.charCodeAt(i)) >>> 0;
  return hash % 8;
}

function addNotice(text: string): void {
  if (previous !== null) previous = { from: null, ts: previous.ts };
  addToLog([el("li", "event", text)]);
}

function addToLog(entries: HTMLElement[]): void {
  if (entries.length === 0) return;
  // Follow the conversation only when already at its end: someone reading
  // older messages is not pulled away from them.
  const atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 60;
  log.append(...entries);
  while (log.childElementCount > MAX_LOG_ENTRIES) log.firstElementChild?.remove();
  if (atEnd) scrollToEnd();
}

function scrollToEnd(): void {
  log.scrollTop = log.scrollHeight;
}

// --- the roster and who is typing --------------------------------------------

function renderRoster(): void {
  const users = [...members.values()].sort((a, b) => a.nick.localeCompare(b.nick));
  rosterCount.textContent = String(users.length);
  rosterList.replaceChildren(
    ...users.map((user) => {
      const item = el("li", `hue-${hue(user.id)}`, user.nick);
      if (user.id === me?.id) item.append(el("span", "you", " (you)"));
      return item;
    }),
  );
}

function startTyping(user: User): void {
  clearTimeout(typists.get(user.id)?.timer);
  typists.set(user.id, { nick: user.nick, timer: setTimeout(() => stopTyping(user.id), TYPING_SHOWN_MS) });
  renderTyping();
}

function stopTyping(id: string): void {
  const typist = typists.get(id);
  if (typist === undefined) return;
  clearTimeout(typist.timer);
  typists.delete(id);
  renderTyping();
}

function renderTyping(): void {
  const nicks = [...typists.values()].map((typist) => typist.nick);
  typingLine.textContent =
    nicks.length === 0
      ? ""
      : nicks.length === 1
        ? `${nicks[0]} is typing…`
        : nicks.length === 2
          ? `${nicks[0]} and ${nicks[1]} are typing…`
          : `${nicks.length} people are typing…`;
}

// --- notices and the tab title -------------------------------------------------

function showNotice(text: string, fades = true): void {
  notice.textContent = text;
  notice.hidden = false;
  clearTimeout(noticeTimer);
  if (fades) noticeTimer = setTimeout(() => (notice.hidden = true), NOTICE_SHOWN_MS);
}

const baseTitle = room === null ? document.title : `#${room} · edge-chat`;
document.title = baseTitle;

function countUnread(count: number): void {
  unread += count;
  document.title = `(${unread}) ${baseTitle}`;
}

document.addEventListener("visibilitychange", () => {
  if (document.hidden) return;
  unread = 0;
  document.title = baseTitle;
});

// --- the forms -----------------------------------------------------------------

joinForm.addEventListener("submit", (event) => {
  event.preventDefault();
  // The room checks the length; here only what can be told without it.
  const nick = parseNick(nickInput.value, limits?.nickLength ?? Number.MAX_SAFE_INTEGER);
  if (!nick.ok) {
    setFieldError(nickInput, nickError, nick.message);
    nickInput.focus();
    return;
  }
  setFieldError(nickInput, nickError, null);
  joinButton.disabled = true;
  connection?.join(nick.nick);
});

nickInput.addEventListener("input", () => setFieldError(nickInput, nickError, null));

composer.addEventListener("submit", (event) => {
  event.preventDefault();
  sendComposed();
});

textInput.addEventListener("keydown", (event) => {
  // Enter sends, Shift+Enter is a new line; an IME's Enter confirms its text.
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    sendComposed();
  }
});

textInput.addEventListener("input", () => {
  const now = Date.now();
  if (textInput.value.trim() === "" || now - typingSentAt < (limits?.typingIntervalMs ?? TYPING_SEND_EVERY_MS)) return;
  if (connection?.send({ type: "typing" })) typingSentAt = now;
});

function sendComposed(): void {
  const text = textInput.value.trim();
  if (text === "" || connection === null || limits === null) return;
  if (!connection.joined) {
    showNotice("Not connected right now: your message is kept until the room is back.");
    return;
  }
  const rename = /^\/nick\s+(.+)$/s.exec(text)?.[1];
  if (rename !== undefined) {
    const nick = parseNick(rename, limits.nickLength);
    if (!nick.ok) return showNotice(nick.message);
    connection.send({ type: "nick", nick: nick.nick });
  } else {
    if (codePointLength(text) > limits.messageLength) {
      return showNotice(`A message is at most ${limits.messageLength} characters (this one has ${codePointLength(text)}).`);
    }
    const cid = crypto.getRandomValues(new Uint32Array(2)).join("-");
    connection.send({ type: "message", text, cid });
    unconfirmed.set(cid, text);
  }
  textInput.value = "";
  typingSentAt = 0;
}

/** Puts text back in the composer, ahead of whatever is being typed now. */
function restoreText(text: string): void {
  textInput.value = textInput.value.trim() === "" ? text : `${text}\n${textInput.value}`;
  textInput.focus();
}

// --- copy link -----------------------------------------------------------------

if (navigator.clipboard === undefined) copyButton.hidden = true;
copyButton.addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText(location.href);
    copyButton.textContent = "Copied!";
  } catch {
    copyButton.textContent = "Copy failed";
  }
  setTimeout(() => (copyButton.textContent = "Copy link"), 2_000);
});

// --- start -------------------------------------------------------------------

if (room === null) {
  joinView.hidden = true;
  byId("bad-room", HTMLElement).hidden = false;
  copyButton.hidden = true;
} else {
  byId("room-name", HTMLElement).textContent = `#${room}`;
  byId("join-title", HTMLElement).textContent = `Join #${room}`;
  nickInput.value = savedNick();
  nickInput.focus();
  // The roster starts folded away on small screens, where it sits above the messages.
  rosterBox.open = matchMedia("(min-width: 48rem)").matches;
}
