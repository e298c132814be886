/**
 * The room page: pick a nickname, then chat. The room itself (the
 * connection, who we are, the outbox and its confirmations, the roster, the
 * call's members, the messages as data) is the client core's RoomSession
 * (src/core/session.ts), shared with the terminal client; the message list's
 * screen is log.ts and the call's call.ts. This file renders the session's
 * events and turns the page's input into its calls.
 */
import {
  canModerate,
  codePointLength,
  parseEmoji,
  quoteText,
  parseNick,
  parseRoomName,
  type ErrorFrame,
  type MessageFrame,
} from "../shared/protocol";
import { parseCommand } from "../shared/commands";
import type { Status, StatusDetail } from "../core/connection";
import {
  RoomSession,
  modlogText,
  removalText,
  removedText,
  roleText,
  settingsText,
  untilText,
  type Notice,
  type Welcome,
} from "../core/session";
import { byId, el, fetchPart, setFieldError } from "./dom";
import { DELETED_TEXT, MessageLog, hue, outgoingItem, setDelivery } from "./log";
import { confirmAction } from "./confirm";
import type { Kit } from "./kit";
import { setUpSharing } from "./share";
import { registerServiceWorker } from "./install";
import { CallEntry } from "./call-entry";
import {
  rememberRoom,
  saveDraft,
  saveLastRead,
  saveNick,
  saveOwnerKey,
  savedDraft,
  savedLastRead,
  savedNick,
  savedOwnerKey,
} from "./store";

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
const rosterSummary = byId("roster-summary", HTMLElement);
const typingLine = byId("typing", HTMLParagraphElement);
const counter = byId("counter", HTMLParagraphElement);
const notice = byId("notice", HTMLParagraphElement);
const composer = byId("composer", HTMLFormElement);
const textInput = byId("text", HTMLTextAreaElement);
const sendButton = byId("send-button", HTMLButtonElement);
const copyButton = byId("copy-link", HTMLButtonElement);
const ownership = byId("ownership", HTMLParagraphElement);
const topicLine = byId("topic", HTMLParagraphElement);
const staff = byId("staff", HTMLParagraphElement);
const copyOwnerLink = byId("copy-owner-link", HTMLButtonElement);
const attachButton = byId("attach-button", HTMLButtonElement);
const fileInput = byId("file-input", HTMLInputElement);
const dropZone = byId("drop-zone", HTMLElement);
const jumpUnread = byId("jump-unread", HTMLButtonElement);
const composeMode = byId("compose-mode", HTMLElement);
const composeModeText = byId("compose-mode-text", HTMLElement);
const narrow = matchMedia("(max-width: 47.99rem)");

const room = roomFromPath(location.pathname);

function roomFromPath(path: string): string | null {
  const segment = /^\/r\/([^/]+)\/?$/.exec(path)?.[1];
  return segment === undefined ? null : parseRoomName(segment);
}

// --- the session and what shows it ---------------------------------------------

let unread = 0;
/** Of `unread`, the messages that mention us. */
let mentioned = 0;
/** Nicknames by user id, from every message and reaction seen: who reacted, when they are gone. */
const nicks = new Map<string, string>();
/** A message to show once the list has loaded back to it (jumpTo). */
let pendingJump: number | undefined;
let noticeTimer: ReturnType<typeof setTimeout> | undefined;
let countdown: ReturnType<typeof setInterval> | undefined;
let quietTimer: ReturnType<typeof setTimeout> | undefined;
/** Our own messages on the page until the room echoes them, by cid (their
 * data is the session's `messages.own`). */
const ownItems = new Map<string, HTMLLIElement>();

// Without a valid room name the page only says so: the session never joins.
const session: RoomSession = new RoomSession(
  `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/api/rooms/${room ?? ""}/websocket`,
  {
    status: onStatus,
    welcome: onWelcome,
    messages: showMessages,
    older: (page) => {
      for (const message of page.messages) nicks.set(message.from.id, message.from.nick);
      log.prepend(page.before, page.messages, page.complete === true);
      if (pendingJump !== undefined) jumpTo(pendingJump);
    },
    // A tombstone in the deleted message's place (when it is on the page).
    deleted: (frame, message) => {
      redrawReplies(frame.target);
      if (message === undefined) return;
      const byModerator = frame.by.id !== message.from.id;
      log.redraw(message, byModerator ? `Message deleted by ${frame.by.nick}` : DELETED_TEXT);
    },
    edited: (frame, message) => {
      redrawReplies(frame.target);
      if (message !== undefined) log.redraw(message);
    },
    reacted: (frame, message) => {
      nicks.set(frame.user.id, frame.user.nick);
      if (message !== undefined) log.redraw(message);
    },
    results: (frame) => searchBox.ready?.results(frame),
    cleared: ({ by }) => {
      log.clear();
      log.notice(`${by.nick} cleared the history`);
    },
    notice: onNotice,
    roster: renderRoster,
    typing: () => (typingLine.textContent = session.typists.line),
    call: (frame) => call.onCallFrame(frame),
    signal: (frame) => call.onSignal(frame),
    refused: (item, reason) => {
      if (item.kind === "message") showDelivery(item.cid);
      else showNotice(reason);
    },
    error: onError,
    // Removed: said where the composer was, which writes no more (what was
    // waiting failed, with the reason).
    kicked: (frame) => {
      const why = removedText(frame);
      showNotice(why, "error", false);
      textInput.disabled = sendButton.disabled = attachButton.disabled = true;
      textInput.placeholder = why;
    },
    settings: (changed, by) => {
      for (const line of settingsText(session.settings, changed, by.nick)) log.notice(line);
      renderTopic();
    },
    // The last few actions (the whole log comes with a settings panel).
    // A new owner key: kept on this device for the owner link.
    rotated: (key) => {
      if (room !== null) saveOwnerKey(room, key);
      renderRoster();
      showNotice("The owner key is new: copy the owner link again. Old owner links no longer work.", "info", false);
    },
    // Drawn in the settings dialog while it is open; else a notice.
    modlog: (frame) => {
      if (moderation.ready?.settings.modlog(frame)) return;
      const latest = frame.entries.slice(0, 5).map((entry) => modlogText(entry));
      showNotice(
        latest.length === 0 ? "Nothing in the moderation log." : `Latest: ${latest.join("; ")}.`,
        "info",
        false,
      );
    },
    bans: (frame) => {
      if (moderation.ready?.settings.bans(frame)) return;
      const bans = frame.bans.map((ban) => `${ban.user.nick} ${untilText(ban.until)} (/unban ${ban.id})`);
      showNotice(bans.length === 0 ? "No bans in force." : `Bans: ${bans.join("; ")}.`, "info", false);
    },
    joinRefused: (frame) => {
      // A taken or invalid nickname, a full room, a wrong owner key: ask
      // again (a wrong key is forgotten, so the next try joins as a member).
      if (frame.code === "bad_owner_key" && room !== null) saveOwnerKey(room, "");
      joinView.hidden = false;
      chatView.hidden = true;
      joinButton.disabled = false;
      setFieldError(nickInput, nickError, frame.message);
      nickInput.focus();
    },
  },
);

/** The page's helpers, for the code it loads on demand (kit.ts). */
const kit: Kit = {
  byId,
  el,
  fetchPart,
  hue,
  confirmAction,
  modlogText,
  untilText,
  canModerate,
  parseEmoji,
  quoteText,
};

// The room's call: signalling over the chat's socket, media peer to peer
// (call-entry.ts, which loads the WebRTC code on the first join).
const call = new CallEntry(
  session.callMembers,
  {
    send: (frame) => session.sendCall(frame),
    changed: () => {
      call.render(session.joined);
      renderRoster();
    },
    problem: (message) => showNotice(message),
  },
  {
    panel: byId("call-panel", HTMLElement),
    grid: byId("call-grid", HTMLElement),
    join: byId("call-join", HTMLButtonElement),
    mute: byId("call-mute", HTMLButtonElement),
    camera: byId("call-camera", HTMLButtonElement),
    leave: byId("call-leave", HTMLButtonElement),
    summary: byId("call-summary", HTMLElement),
  },
  kit,
);

const log = new MessageLog(
  {
    list,
    edge: byId("history-edge", HTMLLIElement),
    older: byId("load-older", HTMLButtonElement),
    start: byId("room-start", HTMLElement),
    jump: byId("jump-new", HTMLButtonElement),
  },
  {
    me: () => session.me?.id,
    nameOf: (id) => session.roster.get(id)?.nick ?? nicks.get(id) ?? "someone",
    loadOlder: (before) => session.requestHistory(before),
  },
);

/** The replies on the page to message `id`, drawn again (their quote changed). */
function redrawReplies(id: number): void {
  for (const reply of session.messages.repliesTo(id)) log.redraw(reply);
}

/** Shows message `id`: on the page already, or after loading older pages
 * back to it (each answer calls this again), or says it is gone. */
function jumpTo(id: number): void {
  pendingJump = undefined;
  if (log.show(id)) return;
  const oldest = log.oldestId();
  if (oldest !== undefined && id < oldest && log.loadOlder()) {
    pendingJump = id;
    return;
  }
  showNotice("That message is no longer in the room's history.", "info");
}

const STATUS_LABELS: Record<Status, string> = {
  connecting: "Connecting…",
  online: "Online",
  reconnecting: "Reconnecting…",
  offline: "Offline",
};

const OFFLINE_TEXT = "Offline: what you write is sent when you are back";
/** The service worker's copy of the page, opened without a network (sw.js marks it), until the room answers. */
let openedOffline = document.body.dataset.offline !== undefined;
const offline = (): boolean => openedOffline || !navigator.onLine;

function onStatus(status: Status, detail: StatusDetail): void {
  clearInterval(countdown);
  clearTimeout(quietTimer);
  statusLine.hidden = false;
  statusLine.dataset.state = status;
  statusLine.setAttribute("aria-live", "polite");
  const { retryAt } = detail;
  retryButton.hidden = retryAt === undefined;
  call.render(status === "online" && session.joined);
  if (status === "online") openedOffline = false;
  if (status !== "online" && offline()) {
    // No network at all (an installed app opened offline, say): the outbox keeps what is written.
    statusLine.textContent = OFFLINE_TEXT;
  } else if (retryAt === undefined) {
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
  if (status !== "offline") return;
  if (detail.takenOver)
    showNotice("This chat was opened again somewhere else. Reload the page to continue here.", "error", false);
  if (!joinView.hidden) {
    joinButton.disabled = false;
    if (nickError.hidden)
      setFieldError(
        nickInput,
        nickError,
        offline() ? "You are offline: join once you are back." : "Could not reach the room. Please try again.",
      );
  }
}

function onWelcome({ frame, first, history, lost }: Welcome): void {
  nickInput.maxLength = frame.limits.nickLength;
  saveNick(frame.you.nick);
  if (room !== null) rememberRoom(room);
  call.welcome(frame.you, frame.call);
  renderRoster();
  renderTopic();

  if (frame.truncated && !first) {
    log.restart();
    log.notice("You missed a lot while away: here are the newest messages; scroll up for the rest.");
  }
  if (first) {
    log.start(history);
    // Back in a room: where the new messages start, and a way there.
    const lastRead = room === null ? undefined : savedLastRead(room);
    if (lastRead !== undefined) log.markUnread(lastRead);
  } else showMessages(history);
  log.reset();
  for (const item of lost) if (item.kind === "message") showDelivery(item.cid);

  if (!joinView.hidden) {
    joinView.hidden = true;
    chatView.hidden = false;
    textInput.focus();
  }
  updateCounter();
  if (first) log.scrollToEnd();
  showJumpUnread();
  // A link to a message (/r/room#m42) opens the room at it.
  const linked = linkedMessage();
  if (first && linked !== undefined) jumpTo(linked);
  markRead();
}

/** The message a link to one names (/r/room#m42), if the address is one. */
function linkedMessage(): number | undefined {
  const id = /^#m(\d+)$/.exec(location.hash)?.[1];
  return id === undefined ? undefined : Number(id);
}

/** "↑ New since your last visit" while that line is above what the reader sees. */
function showJumpUnread(): void {
  const line = document.getElementById("unread");
  jumpUnread.hidden = line === null || line.getBoundingClientRect().bottom > list.getBoundingClientRect().top;
}

/** The newest message, remembered as read when the reader can see it. */
function markRead(): void {
  const newest = session.messages.newestId;
  if (room !== null && newest !== undefined && !document.hidden && log.atEnd()) saveLastRead(room, newest);
}

/** Messages from the room, oldest first: each echo of our own replaces its pending item. */
function showMessages(messages: MessageFrame[]): void {
  const me = session.me?.id;
  let others = 0;
  let mentions = 0;
  for (const message of messages) {
    nicks.set(message.from.id, message.from.nick);
    if (message.from.id !== me) {
      others++;
      if (session.mentionsMe(message)) {
        mentions++;
        notifyMention(message);
      }
    } else if (message.cid !== undefined) {
      ownItems.get(message.cid)?.remove();
      ownItems.delete(message.cid);
    }
  }
  log.add(messages);
  if (document.hidden && others > 0) countUnread(others, mentions);
  markRead();
}

/** A system notification for a mention, when the tab is hidden and the
 * person allowed them; clicking it opens the room at the message. */
function notifyMention(message: MessageFrame): void {
  if (!document.hidden || typeof Notification === "undefined" || Notification.permission !== "granted") return;
  const text = message.file?.name ?? message.text;
  const notification = new Notification(`${message.from.nick} mentioned you in #${room}`, {
    body: text.length > 200 ? `${text.slice(0, 199)}…` : text,
    tag: `edge-chat-${room}-${message.id}`,
    icon: "/icon-192.png",
  });
  notification.addEventListener("click", () => {
    focus();
    jumpTo(message.id);
    notification.close();
  });
}

function onNotice(notice: Notice): void {
  const { user } = notice;
  switch (notice.kind) {
    case "joined":
      return log.notice(`${user.nick} joined`);
    case "left": {
      call.onLeft(user); // the roster is drawn again when the call changes
      if (notice.kicked === undefined) return log.notice(`${user.nick} left`);
      return log.notice(removalText(notice.kicked.by.nick, user.nick, notice.kicked, notice.kicked.reason));
    }
    case "renamed":
      call.onRenamed(user);
      if (!notice.you) return log.notice(`${notice.from} is now ${user.nick}`);
      saveNick(user.nick);
      return log.notice(`You are now ${user.nick}`);
    case "call":
      // Our own joining and leaving show in the call panel.
      if (!notice.you) log.notice(`${user.nick} ${notice.joined ? "joined" : "left"} the call`);
      return;
    case "role":
      return log.notice(roleText(notice.by.nick, notice.you ? null : user.nick, user.role));
  }
}

function onError(frame: ErrorFrame): void {
  // A history request refused for speed: the list may ask again.
  if (frame.code === "rate_limited") log.reset();
  // The call filled up while we were asking for the microphone.
  if (frame.code === "call_full") call.leave();
  // A search waiting for its answer may be the one refused (a busy room).
  searchBox.ready?.refused(frame.message);
  showNotice(frame.message);
}

// --- our own messages -----------------------------------------------------------

// --- replying and editing in the composer ---------------------------------------

/** What the composer's text will be: a reply to a message, or a message's new text. */
let composing: { kind: "reply" | "edit"; message: MessageFrame } | null = null;

function compose(kind: "reply" | "edit", message: MessageFrame): void {
  composing = { kind, message };
  const start = quoteText(message.file?.name ?? message.text);
  composeModeText.textContent =
    kind === "reply" ? `Replying to ${message.from.nick}: ${start}` : `Editing your message: ${start}`;
  composeMode.hidden = false;
  if (kind === "edit") textInput.value = message.text;
  updateCounter();
  textInput.focus();
}

function stopComposing(): void {
  if (composing?.kind === "edit") textInput.value = "";
  composing = null;
  composeMode.hidden = true;
  updateCounter();
}
byId("compose-mode-cancel", HTMLButtonElement).addEventListener("click", () => {
  stopComposing();
  textInput.focus();
});

/** Shows an own message at once; the session sends it as soon as the room can take it. */
function say(text: string, action: boolean, replyTo?: number): void {
  const me = session.me;
  if (me === null) return;
  const own = session.say(text, action, replyTo);
  const item = outgoingItem(own.cid, me, text, action);
  ownItems.set(own.cid, item);
  log.addOutgoing(item);
  showDelivery(own.cid);
}

/** One of ours as the session holds it: on its way ("sending…"), or failed
 * (why, in the session's words, then Retry and Discard). */
function showDelivery(cid: string): void {
  const own = session.messages.ownMessage(cid);
  const item = ownItems.get(cid);
  if (item === undefined || own === undefined) return;
  if (own.failed === null) setDelivery(item, "pending");
  else setDelivery(item, "failed", own.failed);
}

// Retry and Discard, on failed messages.
list.addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest<HTMLElement>("button[data-do]") : null;
  const cid = button?.closest<HTMLElement>("li[data-cid]")?.dataset.cid;
  const item = cid === undefined ? undefined : ownItems.get(cid);
  if (button === null || cid === undefined || item === undefined) return;
  if (button.dataset.do === "retry") {
    if (!session.retry(cid)) return;
    // To the end of the list: messages show in sending order.
    log.addOutgoing(item);
    showDelivery(cid);
  } else {
    if (!session.discard(cid)) return;
    ownItems.delete(cid);
    item.remove();
  }
  textInput.focus();
});

// --- the roster and who is typing --------------------------------------------

/** The topic under the room's name ("" hides it). */
function renderTopic(): void {
  topicLine.textContent = session.settings.topic;
  topicLine.hidden = session.settings.topic === "";
}

function renderRoster(): void {
  // The owner link, for the owner on the device that has the key.
  ownership.hidden = session.me?.role !== "owner" || room === null || savedOwnerKey(room) === undefined;
  staff.hidden = session.me?.role === undefined;
  const users = session.roster.sorted();
  const me = session.me?.id;
  // Drawing the list again must not lose the keyboard's place in it.
  const focused = rosterList.contains(document.activeElement)
    ? (document.activeElement as HTMLElement).dataset.user
    : undefined;
  rosterCount.textContent = String(users.length);
  rosterList.replaceChildren(
    ...users.map((user) => {
      const item = el("li", `hue-${hue(user.id)}`);
      item.append(el("span", "name", user.nick));
      if (user.role !== undefined) item.append(el("span", "role", ` ${user.role}`));
      if (user.id === me) item.append(el("span", "you", " (you)"));
      const inCall = call.stateOf(user.id);
      if (inCall !== undefined) {
        const badge = el("span", "in-call", ` ${inCall.audio ? "🎙" : "🔇"}${inCall.video ? " 📷" : ""}`);
        badge.title = `In the call${inCall.audio ? "" : ", muted"}${inCall.video ? ", camera on" : ""}`;
        badge.setAttribute("aria-label", badge.title);
        item.append(badge);
      }
      if (canModerate(session.me, user)) {
        const button = el("button", "moderate ghost", "⋯");
        button.type = "button";
        button.dataset.user = user.id;
        button.setAttribute("aria-label", `Moderate ${user.nick}`);
        button.title = `Kick, ban${session.me?.role === "owner" ? " or appoint" : ""} ${user.nick}`;
        button.addEventListener("click", () => void moderation.get().then((open) => open?.person.open(user, button)));
        item.append(button);
      }
      return item;
    }),
  );
  if (focused !== undefined) {
    const again = rosterList.querySelector<HTMLElement>(`[data-user="${CSS.escape(focused)}"]`);
    (again ?? rosterSummary).focus();
  }
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

/** Messages that came while the tab was hidden, in its title; mentions of us apart: "(5, 2 @) #room". */
function countUnread(count: number, mentions: number): void {
  unread += count;
  mentioned += mentions;
  document.title = `(${unread}${mentioned > 0 ? `, ${mentioned} @` : ""}) ${baseTitle}`;
}

document.addEventListener("visibilitychange", () => {
  if (document.hidden) return;
  unread = mentioned = 0;
  document.title = baseTitle;
  markRead();
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
  const nick = parseNick(nickInput.value, session.limits?.nickLength ?? Number.MAX_SAFE_INTEGER);
  if (!nick.ok) {
    setFieldError(nickInput, nickError, nick.message);
    nickInput.focus();
    return;
  }
  setFieldError(nickInput, nickError, null);
  joinButton.disabled = true;
  session.join(nick.nick, room === null ? undefined : savedOwnerKey(room));
});

nickInput.addEventListener("input", () => setFieldError(nickInput, nickError, null));

composer.addEventListener("submit", (event) => {
  event.preventDefault();
  sendComposed();
});

textInput.addEventListener("keydown", (event) => {
  if (event.isComposing) return;
  // Enter sends, Shift+Enter is a new line; an IME's Enter confirms its text.
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    sendComposed();
  } else if (event.key === "ArrowUp" && textInput.value === "" && composing === null) {
    // Up in an empty composer edits our last message, as in most chats.
    const last = session.me === null ? undefined : session.messages.lastFrom(session.me.id, { withText: true });
    if (last === undefined) return;
    event.preventDefault();
    compose("edit", last);
  } else if (event.key === "Escape" && composing !== null) {
    event.stopPropagation();
    stopComposing();
  } else if (event.key === "Tab" && !event.shiftKey && completeMention()) {
    event.preventDefault();
  }
});

/** The nicknames here that start with the "@word" before the caret. */
function mentionCandidates(): { start: number; nicks: string[] } | null {
  const before = textInput.value.slice(0, textInput.selectionStart);
  const typed = /(?:^|\s)@([^\s@]*)$/u.exec(before);
  if (typed === null) return null;
  const prefix = (typed[1] ?? "").toLowerCase();
  const nicks = session.roster
    .sorted()
    .filter((user) => user.id !== session.me?.id && user.nick.toLowerCase().startsWith(prefix))
    .map((user) => user.nick);
  return nicks.length === 0 ? null : { start: before.length - prefix.length, nicks };
}

/** Tab after "@an": "@Ana " (the first nickname that fits). */
function completeMention(): boolean {
  const found = mentionCandidates();
  if (found === null) return false;
  const caret = textInput.selectionStart;
  const completed = `${found.nicks[0]} `;
  textInput.setRangeText(completed, found.start, caret, "end");
  textInput.dispatchEvent(new Event("input"));
  return true;
}

textInput.addEventListener("input", () => {
  updateCounter();
  if (room !== null) saveDraft(room, textInput.value);
  session.typed(textInput.value);
  // "@an": who Tab would complete, where the typing line is.
  const found = mentionCandidates();
  typingLine.textContent = found === null ? session.typists.line : `Tab: @${found.nicks.slice(0, 5).join(", @")}`;
});

/** "N left" past 80 % of the limit; over it, "N too many" in red and no sending. */
function updateCounter(): void {
  const max = session.limits?.messageLength;
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
  "Commands: /nick new-name renames you, /me waves sends an action, /send shares a file, /edit text and /delete change your last message, /react 👍 reacts to the newest, /search finds messages, /topic shows the topic. Start with // to send a message beginning with /. Moderators: /kick, /ban, /bans, /unban, /topic text, /lock, /unlock, /slow seconds, /files on|off, /calls on|off, /modlog; the owner: /mod, /unmod, /clearhistory.";

function sendComposed(): void {
  const text = textInput.value.trim();
  const limits = session.limits;
  if (text === "" || limits === null) return;
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
        `Here: ${session.roster
          .sorted()
          .map((user) => user.nick)
          .join(", ")}.`,
        "info",
      );
    case "topic":
      return showNotice(
        session.settings.topic === "" ? "No topic is set." : `Topic: ${session.settings.topic}`,
        "info",
      );
    // Moderation: the room answers with what changed (or a refusal, as a notice).
    case "role":
      return commandSent(session.setRoleByNick(command.nick, command.role));
    case "kick":
    case "ban":
      return commandSent(session.remove(command.kind, command.words));
    case "modlog":
      session.modlogRequest();
      return clearComposer();
    case "newkey":
      session.rotateOwnerKey();
      return clearComposer();
    case "bans":
    case "unban":
      session.bansRequest(command.kind === "unban" ? command.ban : undefined);
      return clearComposer();
    case "settings":
      session.changeSettings(command.changes);
      return clearComposer();
    case "edit":
      return commandSent(session.editLast(command.text));
    case "react":
      if (command.id === undefined) return commandSent(session.reactLast(command.emoji));
      session.toggleReaction(command.id, command.emoji);
      return clearComposer();
    case "search":
      void searchBox.get().then((box) => box?.open(command.query));
      return clearComposer();
    case "delete":
      if (command.id === undefined) return commandSent(session.deleteLast());
      session.deleteMessage(command.id);
      return clearComposer();
    case "clear":
      session.clearHistory();
      return clearComposer();
    case "ids":
      return showNotice("Message ids are for the terminal client; here, each message's ⋯ menu deletes it.", "info");
    case "send":
      fileInput.click();
      return showNotice("Pick the file to share (you can also drop files on the chat, or paste an image).", "info");
  }
  if (command.kind === "nick") {
    if (!session.joined) return showNotice("Not connected right now: rename once the room is back.");
    // In the outbox's order: a rename, then a message, reach the room so.
    const problem = session.rename(command.nick);
    if (problem !== null) return showNotice(problem);
  } else {
    const length = codePointLength(command.text);
    if (length > limits.messageLength) {
      return showNotice(`A message is at most ${limits.messageLength} characters (this one has ${length}).`);
    }
    if (composing?.kind === "edit") session.editMessage(composing.message.id, command.text);
    else say(command.text, command.action, command.replyTo ?? composing?.message.id);
  }
  clearComposer();
}

/** A command went out (the composer empties), or could not (why, and the text stays). */
function commandSent(problem: string | null): void {
  if (problem === null) clearComposer();
  else showNotice(problem);
}

function clearComposer(): void {
  hideNotice();
  stopComposing();
  textInput.value = "";
  if (room !== null) saveDraft(room, "");
  updateCounter();
}

/**
 * What the page loads the first time it is needed (the moderation dialogs,
 * a message's menu, the search box): `load` runs once, a failed load is said
 * and tried again at the next use. `ready` is what it made, once it has,
 * for the room's answers that matter only while it is open.
 */
function onDemand<T>(what: string, load: () => Promise<T>): { get(): Promise<T | null>; readonly ready: T | null } {
  let loading: Promise<T> | null = null;
  let ready: T | null = null;
  return {
    async get() {
      loading ??= load();
      try {
        ready = await loading;
      } catch {
        loading = null;
        showNotice(`Could not load ${what}. Check your connection, then try again.`);
      }
      return ready;
    },
    get ready() {
      return ready;
    },
  };
}

// The moderation dialogs (moderate.ts: a person's, from the roster; the room's settings).
const moderation = onDemand("the moderation tools", async () =>
  (await import("./moderate")).setUpDialogs(session, kit),
);
const openSettings = byId("open-settings", HTMLButtonElement);
openSettings.addEventListener("click", () => void moderation.get().then((open) => open?.settings.open(openSettings)));

// --- sharing files (share.ts) ---------------------------------------------------

setUpSharing(session, log, showNotice, {
  room,
  chatView,
  dropZone,
  attach: attachButton,
  fileInput,
  textInput,
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

// The owner link: the room's address with the key in the fragment, which
// browsers never send to a server.
copyOwnerLink.addEventListener("click", async () => {
  const key = room === null ? undefined : savedOwnerKey(room);
  if (key === undefined) return;
  try {
    await navigator.clipboard.writeText(`${location.origin}/r/${room}#owner=${key}`);
    copyOwnerLink.textContent = "Copied!";
  } catch {
    copyOwnerLink.textContent = "Copy failed";
  }
  setTimeout(() => (copyOwnerLink.textContent = "Copy owner link"), 2_000);
});

// A leaked owner link is made useless by a new key (other owners become members).
const newOwnerKey = byId("new-owner-key", HTMLButtonElement);
newOwnerKey.addEventListener("click", async () => {
  const sure = await confirmAction(
    "Replace the owner key? Every owner link made so far stops working, and other owners become members. You will need to copy the new owner link to your other devices.",
    "Replace the key",
    newOwnerKey,
    rosterSummary,
  );
  if (sure) session.rotateOwnerKey();
});

// Each message's menu (message-menu.ts): react, reply, edit, copy, link, delete.
const messageLink = (id: number): string => `${location.origin}/r/${room}#m${id}`;
const messageMenu = onDemand("the message's menu", async () =>
  (await import("./message-menu")).setUpMessageMenu(
    session,
    list,
    {
      reply: (chosen) => compose("reply", chosen),
      edit: (chosen) => compose("edit", chosen),
      link: (chosen) => messageLink(chosen.id),
    },
    kit,
  ),
);
// A click in the list: a ⋯ opens the menu, a reaction adds or takes back
// ours, a reply's quote jumps to what it answers.
list.addEventListener("click", (event) => {
  const target = event.target instanceof Element ? event.target : null;
  const button = target?.closest<HTMLElement>("button.more, button.reaction, [data-jump]");
  const message = session.messages.get(Number(button?.closest<HTMLElement>("li[data-id]")?.dataset.id));
  if (button?.dataset.jump !== undefined) return jumpTo(Number(button.dataset.jump));
  if (button?.dataset.emoji !== undefined && message !== undefined)
    return session.toggleReaction(message.id, button.dataset.emoji);
  if (button == null || message === undefined || message.deleted) return;
  void messageMenu.get().then((menu) => menu?.open(message, button));
});
list.addEventListener(
  "scroll",
  () => {
    markRead();
    if (!jumpUnread.hidden) showJumpUnread();
  },
  { passive: true },
);
addEventListener("hashchange", () => {
  const linked = linkedMessage();
  if (linked !== undefined && session.joined) jumpTo(linked);
});

// Searching (search.ts), from the header's 🔍 or /search words.
const searchBox = onDemand("the search", async () =>
  (await import("./search")).setUpSearch(session, jumpTo, showNotice, kit),
);
byId("open-search", HTMLButtonElement).addEventListener("click", () => void searchBox.get().then((box) => box?.open()));

jumpUnread.addEventListener("click", () => {
  document.getElementById("unread")?.scrollIntoView({ block: "start" });
  jumpUnread.hidden = true;
});

// Mentions as system notifications: asked when the person wants them, never on load.
const notifyButton = byId("notify-mentions", HTMLButtonElement);
notifyButton.hidden = typeof Notification === "undefined" || Notification.permission !== "default";
notifyButton.addEventListener("click", async () => {
  const answer = await Notification.requestPermission();
  notifyButton.hidden = true;
  showNotice(
    answer === "granted"
      ? "You will get a notification when someone mentions you while this tab is in the background."
      : "No notifications: your browser keeps them off for this site.",
    "info",
  );
});

retryButton.addEventListener("click", () => session.retryNow());
// Closing the tab leaves the call at once, for everyone (not after a timeout).
addEventListener("pagehide", () => call.leave());
// Back on the network, or back on the tab: retry now rather than at the end
// of the backoff. (The connection itself knows nothing of the browser.)
addEventListener("online", () => session.retryNow());
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) session.retryNow();
});

// --- start -------------------------------------------------------------------

if (room === null) {
  joinView.hidden = true;
  byId("bad-room", HTMLElement).hidden = false;
  copyButton.hidden = true;
} else {
  // An owner link (#owner=KEY): the key is kept on this device and taken out
  // of the address bar, so that a copied address never carries it.
  const ownerKey = new URLSearchParams(location.hash.slice(1)).get("owner");
  if (ownerKey !== null && ownerKey !== "") {
    saveOwnerKey(room, ownerKey);
    history.replaceState(null, "", location.pathname + location.search);
  }
  byId("room-name", HTMLElement).textContent = `#${room}`;
  byId("join-title", HTMLElement).textContent = `Join #${room}`;
  nickInput.value = savedNick();
  nickInput.focus();
  textInput.value = savedDraft(room);
  // The roster starts folded away on small screens, where it sits above the messages.
  rosterBox.open = !narrow.matches;
  // Opened without a network (from the service worker's copy): said at once.
  if (offline()) {
    statusLine.hidden = false;
    statusLine.dataset.state = "offline";
    statusLine.textContent = OFFLINE_TEXT;
  }
}

registerServiceWorker();
