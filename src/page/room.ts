/**
 * The room page: pick a nickname, then chat. The socket side lives in
 * connection.ts and the message list in log.ts; this file turns frames into
 * the page and the page into frames, and keeps the outbox: own messages shown
 * at once, sent in order when the room is reachable, confirmed by their echo.
 */
import {
  codePointLength,
  parseNick,
  parseRoomName,
  type CallNoticeFrame,
  type ErrorFrame,
  type MessageFrame,
  type ServerFrame,
  type User,
  type WelcomeFrame,
} from "../shared/protocol";
import { parseCommand } from "../shared/commands";
import { ChatConnection, type Status, type StatusDetail } from "../core/connection";
import { Outbox } from "../core/outbox";
import { Roster, TypingSender, Typists } from "../core/presence";
import { byId, el, setFieldError } from "./dom";
import { MessageLog, hue, outgoingItem, setDelivery, uploadFailed, uploadItem, uploadProgressText } from "./log";
import { startUpload, tooLarge } from "./upload";
import { Call } from "./call";
import { CallView } from "./call-view";
import { rememberRoom, saveDraft, saveNick, savedDraft, savedNick } from "./store";

const NOTICE_SHOWN_MS = 6_000;
/** The counter shows up past this share of the length limit. */
const COUNTER_FROM = 0.8;

const statusLine = byId("status", HTMLElement);
const retryButton = byId("retry-now", HTMLButtonElement);
const joinView = byId("join-view", HTMLElement);
const joinForm = byId("join-form", HTMLFormElement);
const nickInput = byId("nick", HTMLInputElement);
const nickError = byId("nick-error", HTMLParagraphElement);
const joinButton = byId("join-button", HTMLButtonElement);
const chatView = byId("chat-view", HTMLElement);
const list = byId("messages", HTMLOListElement);
const rosterBox = byId("roster", HTMLDetailsElement);
const rosterCount = byId("roster-count", HTMLElement);
const rosterList = byId("roster-list", HTMLUListElement);
const typingLine = byId("typing", HTMLParagraphElement);
const counter = byId("counter", HTMLParagraphElement);
const notice = byId("notice", HTMLParagraphElement);
const composer = byId("composer", HTMLFormElement);
const textInput = byId("text", HTMLTextAreaElement);
const sendButton = byId("send-button", HTMLButtonElement);
const copyButton = byId("copy-link", HTMLButtonElement);
const attachButton = byId("attach-button", HTMLButtonElement);
const fileInput = byId("file-input", HTMLInputElement);
const dropZone = byId("drop-zone", HTMLElement);
const narrow = matchMedia("(max-width: 47.99rem)");

const room = roomFromPath(location.pathname);

function roomFromPath(path: string): string | null {
  const segment = /^\/r\/([^/]+)\/?$/.exec(path)?.[1];
  return segment === undefined ? null : parseRoomName(segment);
}

// --- state -------------------------------------------------------------------

let me: User | null = null;
let limits: WelcomeFrame["limits"] | null = null;
const roster = new Roster();
const typists = new Typists(renderTyping);
let unread = 0;
let noticeTimer: ReturnType<typeof setTimeout> | undefined;
let countdown: ReturnType<typeof setInterval> | undefined;
let quietTimer: ReturnType<typeof setTimeout> | undefined;

/** An own message on the page from the moment it is typed until the room
 * echoes it back: its item in the list, and whether it failed (then it waits
 * for Retry or Discard, out of the outbox). */
interface Pending {
  text: string;
  action: boolean;
  item: HTMLLIElement;
  failed: boolean;
}
/** By cid, in sending order. Kept in memory only: a reload forgets it. */
const pending = new Map<string, Pending>();

/** The outbox both clients share (src/core): order, pacing, confirmations. */
const outbox = new Outbox(
  (frame) => connection?.joined === true && connection.send(frame),
  (refused, reason) => {
    if (refused.kind === "message") fail(refused.cid, `Not sent: ${reason}`);
    else showNotice(reason);
  },
);

const typing = new TypingSender((frame) => connection?.joined === true && connection.send(frame));

const connection =
  room === null
    ? null
    : new ChatConnection(
        `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/api/rooms/${room}/websocket`,
        { frame: onFrame, status: onStatus },
      );

// The room's call: signalling over the chat's socket, media peer to peer.
const call = new Call({
  send: (frame) => connection?.send(frame) ?? false,
  changed: () => {
    callView.render(connection?.joined === true);
    renderRoster();
  },
  problem: (message) => showNotice(message),
});
const callView = new CallView(call, {
  panel: byId("call-panel", HTMLElement),
  grid: byId("call-grid", HTMLElement),
  join: byId("call-join", HTMLButtonElement),
  mute: byId("call-mute", HTMLButtonElement),
  camera: byId("call-camera", HTMLButtonElement),
  leave: byId("call-leave", HTMLButtonElement),
  summary: byId("call-summary", HTMLElement),
});

const log = new MessageLog(
  {
    list,
    edge: byId("history-edge", HTMLLIElement),
    older: byId("load-older", HTMLButtonElement),
    start: byId("room-start", HTMLElement),
    jump: byId("jump-new", HTMLButtonElement),
  },
  {
    me: () => me?.id,
    loadOlder(before) {
      if (connection?.joined !== true) return false;
      outbox.spend();
      return connection.send({ type: "history", before });
    },
  },
);

// --- connection --------------------------------------------------------------

const STATUS_LABELS: Record<Status, string> = {
  connecting: "Connecting…",
  online: "Online",
  reconnecting: "Reconnecting…",
  offline: "Offline",
};

function onStatus(status: Status, detail: StatusDetail = {}): void {
  clearInterval(countdown);
  clearTimeout(quietTimer);
  statusLine.hidden = false;
  statusLine.dataset.state = status;
  statusLine.setAttribute("aria-live", "polite");
  const { retryAt } = detail;
  retryButton.hidden = retryAt === undefined;
  callView.render(status === "online" && connection?.joined === true);
  if (retryAt === undefined) {
    statusLine.textContent = STATUS_LABELS[status];
  } else {
    const tick = (): void => {
      const text = `Reconnecting in ${Math.max(1, Math.ceil((retryAt - Date.now()) / 1000))} s…`;
      if (statusLine.textContent !== text) statusLine.textContent = text;
    };
    tick();
    // Screen readers hear the first "Reconnecting in N s", not every second after it.
    quietTimer = setTimeout(() => statusLine.setAttribute("aria-live", "off"), 1500);
    countdown = setInterval(tick, 250);
  }
  // Held until the next welcome, which says what got through.
  if (status !== "online") outbox.disconnected();
  if (status !== "offline") return;
  if (detail.takenOver)
    showNotice("This chat was opened again somewhere else. Reload the page to continue here.", "error", false);
  if (!joinView.hidden) {
    joinButton.disabled = false;
    if (nickError.hidden) setFieldError(nickInput, nickError, "Could not reach the room. Please try again.");
  }
}

function onFrame(frame: ServerFrame): void {
  typists.apply(frame, frame.type === "welcome" ? frame.you.id : me?.id);
  if (roster.apply(frame)) renderRoster();
  switch (frame.type) {
    case "welcome":
      return onWelcome(frame);
    case "message":
      return showMessages([frame]);
    case "history":
      return log.prepend(frame.before, frame.messages, frame.complete === true);
    case "joined":
      return log.notice(`${frame.user.nick} joined`);
    case "left":
      call.onLeft(frame.user); // the roster is drawn again when the call changes
      return log.notice(`${frame.user.nick} left`);
    case "renamed":
      call.onRenamed(frame.user);
      return onRenamed(frame.user, frame.from);
    case "call":
      return onCallNotice(frame);
    case "signal":
      return void call.onSignal(frame);
    case "typing":
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
  call.welcome(frame.you, frame.call);
  renderRoster();

  if (frame.truncated && !first) {
    log.restart();
    log.notice("You missed a lot while away: here are the newest messages; scroll up for the rest.");
  }
  if (first) log.start(frame.history);
  else showMessages(frame.history);
  log.reset();

  // What is left in the outbox did not come back in the history. Sent before
  // the drop: lost on the way, so sent again (joined()), unless the history
  // is cut short and cannot tell.
  if (frame.truncated) {
    for (const unknown of outbox.takeUnconfirmed()) {
      if (unknown.kind === "message") fail(unknown.cid, "Not confirmed: the connection dropped; it may have arrived.");
    }
  }
  outbox.joined(frame.limits, frame.you.nick);

  if (!joinView.hidden) {
    joinView.hidden = true;
    chatView.hidden = false;
    textInput.focus();
  }
  updateCounter();
  if (first) log.scrollToEnd();
}

/** Messages from the room, oldest first: each echo of our own replaces its pending item. */
function showMessages(messages: MessageFrame[]): void {
  let others = 0;
  for (const message of messages) {
    // Ours only if it is from us: someone else may send the same cid.
    const ours = message.cid === undefined || message.from.id !== me?.id ? undefined : pending.get(message.cid);
    if (ours !== undefined && message.cid !== undefined) {
      outbox.confirmMessage(message.cid);
      ours.item.remove();
      pending.delete(message.cid);
    }
    if (message.from.id !== me?.id) others++;
  }
  log.add(messages);
  if (document.hidden && others > 0) countUnread(others);
}

/** Someone joined or left the call (or changed what they send): the call, and a line for the first two. */
function onCallNotice(frame: CallNoticeFrame): void {
  const before = call.members().get(frame.user.id);
  call.onCallFrame(frame);
  if (frame.user.id === me?.id) return;
  if (before === undefined && frame.state !== null) log.notice(`${frame.user.nick} joined the call`);
  if (before !== undefined && frame.state === null) log.notice(`${frame.user.nick} left the call`);
}

function onRenamed(user: User, from: string): void {
  if (user.id === me?.id) outbox.confirmRename();
  if (user.nick === from) return; // A rename to the same name, confirmed to us alone.
  if (user.id === me?.id) {
    me = user;
    saveNick(user.nick);
    connection?.renamed(user.nick);
    log.notice(`You are now ${user.nick}`);
  } else {
    log.notice(`${from} is now ${user.nick}`);
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
  const refused = outbox.refused(frame.cid);
  if (refused?.kind === "message") return fail(refused.cid, `Not sent: ${frame.message}`);
  // A history request refused for speed: the list may ask again.
  if (frame.code === "rate_limited") log.reset();
  // The call filled up while we were asking for the microphone.
  if (frame.code === "call_full") call.leave();
  showNotice(frame.message);
}

// --- the outbox ----------------------------------------------------------------

/** Shows an own message at once and sends it as soon as the room can take it. */
function queue(text: string, action: boolean): void {
  if (me === null) return;
  const cid = outbox.newCid();
  const item = outgoingItem(cid, me, text, action);
  pending.set(cid, { text, action, item, failed: false });
  log.addOutgoing(item);
  outbox.message(text, action, cid);
}

function fail(cid: string, why: string): void {
  const ours = pending.get(cid);
  if (ours === undefined) return;
  ours.failed = true;
  setDelivery(ours.item, "failed", why);
}

// Retry and Discard, on failed messages.
list.addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest<HTMLElement>("button[data-do]") : null;
  const cid = button?.closest<HTMLElement>("li[data-cid]")?.dataset.cid;
  const ours = cid === undefined ? undefined : pending.get(cid);
  if (button === null || cid === undefined || ours === undefined || !ours.failed) return;
  if (button.dataset.do === "retry") {
    // To the end of the queue, and of the list: messages show in sending order.
    pending.delete(cid);
    pending.set(cid, ours);
    ours.failed = false;
    setDelivery(ours.item, "pending");
    log.addOutgoing(ours.item);
    outbox.message(ours.text, ours.action, cid);
  } else {
    pending.delete(cid);
    ours.item.remove();
  }
  textInput.focus();
});

// --- the roster and who is typing --------------------------------------------

function renderRoster(): void {
  const users = roster.sorted();
  rosterCount.textContent = String(users.length);
  rosterList.replaceChildren(
    ...users.map((user) => {
      const item = el("li", `hue-${hue(user.id)}`, user.nick);
      if (user.id === me?.id) item.append(el("span", "you", " (you)"));
      const inCall = call.members().get(user.id)?.state;
      if (inCall !== undefined) {
        const badge = el("span", "in-call", ` ${inCall.audio ? "🎙" : "🔇"}${inCall.video ? " 📷" : ""}`);
        badge.title = `In the call${inCall.audio ? "" : ", muted"}${inCall.video ? ", camera on" : ""}`;
        badge.setAttribute("aria-label", badge.title);
        item.append(badge);
      }
      return item;
    }),
  );
}

function renderTyping(): void {
  typingLine.textContent = typists.line;
}

// --- notices and the tab title -------------------------------------------------

/** A line above the composer: an error (the default) or help ("info"). */
function showNotice(text: string, kind: "error" | "info" = "error", fades = true): void {
  notice.textContent = text;
  notice.dataset.kind = kind;
  notice.hidden = false;
  clearTimeout(noticeTimer);
  if (fades) noticeTimer = setTimeout(hideNotice, NOTICE_SHOWN_MS);
}

function hideNotice(): void {
  clearTimeout(noticeTimer);
  notice.hidden = true;
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

// Escape closes what is open: the notice, and the roster where it covers the messages.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape" || event.isComposing) return;
  hideNotice();
  if (narrow.matches && rosterBox.open) {
    rosterBox.open = false;
    if (rosterBox.contains(document.activeElement)) rosterBox.querySelector("summary")?.focus();
  }
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
  updateCounter();
  if (room !== null) saveDraft(room, textInput.value);
  typing.typed(textInput.value, limits?.typingIntervalMs);
});

/** "N left" past 80 % of the limit; over it, "N too many" in red and no sending. */
function updateCounter(): void {
  const max = limits?.messageLength;
  const length = codePointLength(textInput.value.trim());
  const left = max === undefined ? 0 : max - length;
  const shown = max !== undefined && length > max * COUNTER_FROM;
  counter.hidden = !shown;
  counter.textContent = !shown ? "" : left >= 0 ? `${left} left` : `${-left} too many`;
  counter.dataset.left = String(left);
  counter.dataset.state = left < 0 ? "over" : "near";
  sendButton.disabled = left < 0;
  if (left < 0) textInput.setAttribute("aria-invalid", "true");
  else textInput.removeAttribute("aria-invalid");
}

const HELP =
  "Commands: /nick new-name renames you, /me waves sends an action, /send shares a file. Start with // to send a message beginning with /.";

function sendComposed(): void {
  const text = textInput.value.trim();
  if (text === "" || connection === null || limits === null) return;
  const command = parseCommand(text);
  switch (command.kind) {
    case "help":
    case "quit": // a page is left by closing it
      return showNotice(HELP, "info");
    case "usage":
      return showNotice(command.text, "info");
    case "unknown":
      return showNotice(`Unknown command /${command.name}. ${HELP}`, "info");
    case "who":
      return showNotice(
        `Here: ${roster
          .sorted()
          .map((user) => user.nick)
          .join(", ")}.`,
        "info",
      );
    case "send":
      fileInput.click();
      return showNotice("Pick the file to share (you can also drop files on the chat, or paste an image).", "info");
  }
  if (command.kind === "nick") {
    const nick = parseNick(command.nick, limits.nickLength);
    if (!nick.ok) return showNotice(nick.message);
    if (!connection.joined) return showNotice("Not connected right now: rename once the room is back.");
    // In the outbox's order: a rename, then a message, reach the room so.
    outbox.rename(nick.nick);
  } else {
    const length = codePointLength(command.text);
    if (length > limits.messageLength) {
      return showNotice(`A message is at most ${limits.messageLength} characters (this one has ${length}).`);
    }
    queue(command.text, command.action);
  }
  hideNotice();
  textInput.value = "";
  if (room !== null) saveDraft(room, "");
  updateCounter();
  typing.lineSent();
}

// --- sharing files ---------------------------------------------------------------

/** Uploads each file, with its own progress entry; the room announces it to all. */
function shareFiles(files: Iterable<File>): void {
  for (const file of files) void shareFile(file);
}

async function shareFile(file: File): Promise<void> {
  const session = connection?.session;
  if (room === null || me === null || session === undefined) return showNotice("Join the room to share files.");
  if (connection?.joined !== true) return showNotice("Not connected right now: share the file once the room is back.");
  const refusal = tooLarge(file, limits?.fileBytes);
  if (refusal !== null) return showNotice(refusal);
  const entry = uploadItem(me, file);
  log.addOutgoing(entry.item);
  const upload = startUpload(room, session, file, (sent) => {
    entry.progress.value = sent;
    entry.percent.textContent = uploadProgressText(sent, file.size);
  });
  entry.cancel.addEventListener("click", () => {
    if (entry.item.dataset.state === "failed") entry.item.remove();
    else upload.cancel();
  });
  const result = await upload.done;
  if (result.ok || result.cancelled) entry.item.remove();
  else uploadFailed(entry, result.message);
}

attachButton.addEventListener("click", () => fileInput.click());
fileInput.addEventListener("change", () => {
  if (fileInput.files !== null) shareFiles([...fileInput.files]);
  fileInput.value = "";
  textInput.focus();
});

// A pasted image (a screenshot, a copied picture) is shared, not typed.
textInput.addEventListener("paste", (event) => {
  const files = [...(event.clipboardData?.files ?? [])];
  if (files.length === 0) return;
  event.preventDefault();
  shareFiles(files);
});

// Files dragged over the page can be dropped anywhere on the chat. Elsewhere
// a drop would make the browser open the file in place of the room.
const carriesFiles = (event: DragEvent): boolean => event.dataTransfer?.types.includes("Files") === true;
let dragDepth = 0;
document.addEventListener("dragenter", (event) => {
  if (!carriesFiles(event) || chatView.hidden) return;
  dragDepth++;
  dropZone.hidden = false;
});
document.addEventListener("dragleave", (event) => {
  if (!carriesFiles(event)) return;
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) dropZone.hidden = true;
});
document.addEventListener("dragover", (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  if (event.dataTransfer !== null) event.dataTransfer.dropEffect = chatView.hidden ? "none" : "copy";
});
document.addEventListener("drop", (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  dragDepth = 0;
  dropZone.hidden = true;
  if (!chatView.hidden && event.dataTransfer !== null) shareFiles([...event.dataTransfer.files]);
});

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

retryButton.addEventListener("click", () => connection?.retryNow());
// Closing the tab leaves the call at once, for everyone (not after a timeout).
addEventListener("pagehide", () => call.leave());
// Back on the network, or back on the tab: retry now rather than at the end
// of the backoff. (The connection itself knows nothing of the browser.)
addEventListener("online", () => connection?.retryNow());
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) connection?.retryNow();
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
  textInput.value = savedDraft(room);
  // The roster starts folded away on small screens, where it sits above the messages.
  rosterBox.open = !narrow.matches;
}
