/**
 * One run of the terminal client: frames from the room to lines on the
 * screen, lines from the keyboard (or a pipe) to frames, and when to stop
 * with which exit code.
 *
 * The room itself (joining, reconnecting and resuming, the outbox and its
 * confirmations, the roster, the call's members) is the page's too: the
 * client core's RoomSession (src/core/session.ts). This file is the screen.
 */
import { SEARCH_PAGE, parseNick, type ErrorFrame, type MessageFrame, type User } from "../src/shared/protocol";
import type { Status, StatusDetail } from "../src/core/connection";
import type { Outgoing } from "../src/core/outbox";
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
} from "../src/core/session";
import type { Options } from "./args";
import { parseCommand } from "../src/shared/commands";
import { HELP } from "./commands";
import { jsonLine, sanitizeLine, type Formatter } from "./format";
import { formatFileSize } from "../src/shared/files";
import { downloadFile, uploadFile } from "./files";
import type { Terminal } from "./terminal";

export const EXIT = {
  ok: 0,
  /** Cannot reach the server, lost for good, or a message refused. */
  failed: 1,
  /** Bad arguments: URL, room name, nickname. */
  usage: 2,
  nickTaken: 3,
} as const;

export interface SessionSetup {
  options: Options;
  terminal: Terminal;
  format: Formatter;
  /** Standard input is a terminal: a person can answer questions. Otherwise
   * it is a pipe: each line is sent, and the run ends once all are confirmed
   * (exit 0), or at the first refusal (exit 1). */
  interactive: boolean;
}

const NO_LIMIT = Number.MAX_SAFE_INTEGER;

export class ChatSession {
  readonly #options: Options;
  readonly #terminal: Terminal;
  readonly #format: Formatter;
  readonly #interactive: boolean;
  readonly #room: RoomSession;
  /** A socket opened at least once (so "offline" is not "unreachable"). */
  #opened = false;
  /** Retries since the connection was lost (0 while connected). */
  #retries = 0;
  /** Input is over (Ctrl-D, end of the pipe, /quit): leave once the outbox is empty. */
  #finishing = false;
  /** Why a piped run will exit 1 once what is in flight is confirmed. */
  #failure: string | null = null;
  #leaving = false;
  /** Why the room removed us (its `kicked` frame), said when the socket closes. */
  #removedBecause: string | null = null;
  /** Uploads and downloads under way: a piped run ends only after them. */
  #transfers = 0;
  /** In a pipe, the lines that came after a /send still uploading: they
   * wait for it, so that the room sees everything in the pipe's order. */
  #held: string[] | null = null;
  /** Resolves at the first welcome: /send needs the session it gives. */
  #joinedOnce: Promise<void>;
  #markJoined: () => void = () => {};
  #resolve: (code: number) => void = () => {};

  constructor(setup: SessionSetup) {
    this.#options = setup.options;
    this.#terminal = setup.terminal;
    this.#format = setup.format;
    this.#interactive = setup.interactive;
    this.#room = new RoomSession(setup.options.socketUrl, {
      frame: (frame) => {
        if (this.#options.json) this.#terminal.print([jsonLine(frame)]);
        // Once the room's frames are handled: maybe the last line was just confirmed.
        queueMicrotask(() => {
          this.#runWaiting();
          this.#leaveIfDone();
        });
      },
      status: (status, detail) => this.#status(status, detail),
      welcome: (welcome) => this.#welcome(welcome),
      messages: (messages) => {
        for (const message of messages) this.#message(message, false);
      },
      notice: (notice) => this.#notice(notice),
      // What was printed stays on the screen: a line says it is deleted.
      deleted: ({ target, by }, message) => {
        const which = this.#format.showIds || message === undefined ? `message #${target}` : "a message";
        const yours = message !== undefined && message.from.id === this.#room.me?.id && by.id !== message.from.id;
        const whose =
          message === undefined || message.from.id === by.id
            ? ""
            : ` by ${yours ? "you" : this.#format.name(message.from)}`;
        this.#show(this.#format.notice(`${this.#format.name(by)} deleted ${which}${whose}`));
      },
      cleared: ({ by }) => this.#show(this.#format.notice(`${this.#format.name(by)} cleared the history`)),
      // The message again, as it is now, marked "(edited)".
      edited: (_frame, message) => {
        if (message !== undefined)
          this.#show(this.#format.message(message, false, { mentioned: this.#room.mentionsMe(message) }));
      },
      reacted: (frame, message) => this.#show(this.#format.reaction(frame, message)),
      // Search results, newest first, with their ids (for /reply and /react).
      results: ({ query, messages, complete }) => {
        const head =
          messages.length === 0
            ? `No messages found for "${sanitizeLine(query)}".`
            : `Found for "${sanitizeLine(query)}", newest first${complete ? "" : ` (the newest ${SEARCH_PAGE})`}:`;
        this.#reply(
          [head, ...messages.flatMap((message) => this.#format.message(message, false, { ids: true }))].join("\n"),
        );
      },
      refused: (item, reason) => this.#refusedOwn(item, reason),
      // About nothing we are waiting for: worth saying, not worth stopping for.
      error: (frame) =>
        this.#terminal.info(this.#format.notice(`Error from the room: ${sanitizeLine(frame.message)}`).join("\n")),
      joinRefused: (frame) => void this.#joinRefused(frame.code, sanitizeLine(frame.message)),
      // Removed by a moderator: said, and the run ends (the room closes the socket, 4003).
      kicked: (frame) => {
        this.#removedBecause = `edge-chat: #${this.#options.room}: ${sanitizeLine(removedText(frame))}`;
      },
      settings: (changed, by) => {
        for (const line of settingsText(this.#room.settings, changed, by.nick))
          this.#show(this.#format.notice(sanitizeLine(line)));
      },
      rotated: (key) =>
        this.#reply(
          `New owner key: ${key}\nOwner link: ${this.#options.httpBase}/r/${this.#options.room}#owner=${key}\nThe old key no longer works; other owners are members now.`,
        ),
      modlog: ({ entries }) =>
        this.#reply(
          entries.length === 0
            ? "Nothing in the moderation log."
            : entries.map((entry) => sanitizeLine(modlogText(entry))).join("\n"),
        ),
      bans: ({ bans }) =>
        this.#reply(
          bans.length === 0
            ? "No bans in force."
            : bans
                .map(
                  (ban) =>
                    `${ban.id}  ${sanitizeLine(ban.user.nick)} ${untilText(ban.until)}, by ${sanitizeLine(ban.by.nick)}${ban.reason === undefined ? "" : `: ${sanitizeLine(ban.reason)}`}`,
                )
                .join("\n"),
        ),
      // Typing notices and history pages: nothing to show in a line-based
      // chat (--json still prints them).
    });
    this.#joinedOnce = new Promise((resolve) => (this.#markJoined = resolve));
  }

  /** Joins, chats, and resolves with the exit code. */
  async run(): Promise<number> {
    const done = new Promise<number>((resolve) => (this.#resolve = resolve));
    this.#terminal.listen({
      line: (line) => this.#line(line),
      end: () => this.#finish(),
      interrupt: () => void this.#leave(EXIT.ok),
      // Typing notices, at most as often as the room relays them; none for commands.
      typing: (line) => this.#room.typed(line),
    });
    const nick = this.#options.nick ?? (await this.#askNick());
    if (nick !== null) this.#room.join(nick, this.#options.ownerKey);
    return done;
  }

  /** Leaves now, as Ctrl-C does (for a closed stdout, say). */
  interrupt(): void {
    void this.#leave(EXIT.ok);
  }

  // --- from the room ------------------------------------------------------

  /** Once input is over and every line written is confirmed: exit 0, or 1 after a refusal. */
  #leaveIfDone(): void {
    if (
      !this.#finishing ||
      this.#room.me === null ||
      this.#room.unconfirmed > 0 ||
      this.#transfers > 0 ||
      this.#held !== null
    )
      return;
    void (this.#failure === null ? this.#leave(EXIT.ok) : this.#leave(EXIT.failed, this.#failure));
  }

  #welcome({ frame, first, history, lost }: Welcome): void {
    this.#markJoined();
    this.#retries = 0;
    if (frame.truncated)
      this.#show(
        this.#format.notice("Some messages sent while you were away are not shown: too many to catch up on here."),
      );
    // On the first join the history is the past (dimmed); on a resume it is what was missed.
    for (const message of history) this.#message(message, first);
    if (first) {
      const others = this.#room.roster.sorted().filter((user) => user.id !== frame.you.id);
      const here = others.length === 0 ? "Nobody else is here." : `Also here: ${this.#names(others)}.`;
      const help = this.#interactive ? " Type /help for commands." : "";
      this.#show(
        this.#format.notice(
          `You joined ${this.#format.bold(`#${sanitizeLine(frame.room)}`)} as ${this.#format.name(frame.you)}. ${here}${help}`,
        ),
      );
      if (frame.settings?.topic) this.#show(this.#format.notice(`Topic: ${sanitizeLine(frame.settings.topic)}`));
      this.#terminal.showPrompt();
    } else {
      this.#show(this.#format.notice("Reconnected."));
    }
    for (const item of lost)
      this.#refusedOwn(item, "the connection dropped before the room confirmed it, and it may or may not have arrived");
  }

  /** A message: the past dimmed; one with a file saved with --download. */
  #message(message: MessageFrame, past: boolean): void {
    const mentioned = this.#room.mentionsMe(message);
    this.#show(this.#format.message(message, past, { mentioned }));
    // A live mention of us rings the terminal's bell (where a terminal shows the chat).
    if (mentioned && !past && this.#terminal.fancy) this.#terminal.bell();
    const dir = this.#options.downloadDir;
    if (message.file !== undefined && dir !== undefined && !past && message.from.id !== this.#room.me?.id) {
      void this.#transfer(async () => {
        const name = sanitizeLine(message.file!.name);
        try {
          const path = await downloadFile(this.#options.httpBase, message.file!, dir);
          this.#terminal.info(this.#format.notice(`Saved ${name} to ${sanitizeLine(path)}`).join("\n"));
        } catch (error) {
          this.#terminal.info(
            this.#format
              .notice(`Could not save ${name}: ${sanitizeLine(String((error as Error).message ?? error))}`)
              .join("\n"),
          );
        }
      });
    }
  }

  /** Runs an upload or a download, counted so that a pipe waits for it. */
  async #transfer(work: () => Promise<void>): Promise<void> {
    this.#transfers++;
    try {
      await work();
    } finally {
      this.#transfers--;
      this.#leaveIfDone();
    }
  }

  /** /send PATH: uploads the file once joined, with progress; the room's
   * message about it is the confirmation everyone (us included) sees. */
  #send(path: string): void {
    if (!this.#interactive) this.#held = [];
    void this.#transfer(async () => {
      await this.#joinedOnce;
      const session = this.#room.token;
      if (session === undefined || this.#leaving) return;
      let shown = -1;
      const result = await uploadFile(
        this.#options.httpBase,
        this.#options.room,
        session,
        path,
        this.#room.limits?.fileBytes,
        (sent, total) => {
          // A line at the start and at every quarter: enough to see it move.
          const quarter = total === 0 ? 4 : Math.floor((sent / total) * 4);
          if (quarter <= shown) return;
          shown = quarter;
          const percent = total === 0 ? 100 : Math.floor((sent / total) * 100);
          this.#terminal.info(
            this.#format.notice(`Uploading ${sanitizeLine(path)}: ${percent}% of ${formatFileSize(total)}`).join("\n"),
          );
        },
      );
      if (!result.ok) {
        const reason = sanitizeLine(result.message);
        if (this.#interactive)
          return this.#terminal.info(this.#format.notice(`Not shared: ${sanitizeLine(path)}: ${reason}`).join("\n"));
        // Like a refused line: nothing after it is sent, and the run exits 1.
        this.#failure ??= `edge-chat: not shared: ${sanitizeLine(path)}: ${reason}`;
        this.#room.dropUnsent();
        this.#finishing = true;
      }
      this.#release();
    });
  }

  /** Lines in the flow: who came, went, renamed, or joined or left the call
   * (calls happen in browsers; the terminal says who comes and goes). */
  #notice(notice: Notice): void {
    const name = this.#format.name(notice.user);
    switch (notice.kind) {
      case "joined":
        return this.#show(this.#format.notice(`${name} joined`));
      case "left": {
        if (notice.kicked === undefined) return this.#show(this.#format.notice(`${name} left`));
        const { by, reason } = notice.kicked;
        const why = reason === undefined ? undefined : sanitizeLine(reason);
        return this.#show(this.#format.notice(removalText(this.#format.name(by), name, notice.kicked, why)));
      }
      case "renamed":
        return this.#show(
          this.#format.notice(notice.you ? `You are now ${name}` : `${sanitizeLine(notice.from)} is now ${name}`),
        );
      case "call":
        return this.#show(
          this.#format.notice(`${notice.you ? "You" : name} ${notice.joined ? "joined" : "left"} the call`),
        );
      case "role":
        return this.#show(
          this.#format.notice(roleText(this.#format.name(notice.by), notice.you ? null : name, notice.user.role)),
        );
    }
  }

  /** A refused join: ask for another name when a person is there, else stop. */
  async #joinRefused(code: ErrorFrame["code"], reason: string): Promise<void> {
    const nickProblem = code === "nick_taken" || code === "nick_invalid";
    if (code === "bad_owner_key") return this.#leave(EXIT.usage, `edge-chat: ${reason} (--owner-key)`);
    if (!nickProblem) return this.#leave(EXIT.failed, `edge-chat: cannot join #${this.#options.room}: ${reason}`);
    if (!this.#interactive) {
      const flag = "choose another with --nick";
      return this.#leave(
        code === "nick_taken" ? EXIT.nickTaken : EXIT.usage,
        `edge-chat: ${reason} (#${this.#options.room}: ${flag}).`,
      );
    }
    this.#terminal.info(reason);
    const nick = await this.#askNick();
    if (nick !== null) this.#room.join(nick, this.#options.ownerKey);
  }

  /** One of ours was refused (or lost): said, and in a pipe the end of the run. */
  #refusedOwn(item: Outgoing, reason: string): void {
    const what =
      item.kind === "nick"
        ? `Rename to "${sanitizeLine(item.nick)}"`
        : item.kind === "command"
          ? `/${item.frame.type}`
          : `"${sanitizeLine(clip(item.text))}"`;
    // A line has no Retry button: a failed message is said, and forgotten.
    if (item.kind === "message") this.#room.discard(item.cid);
    if (this.#interactive) return this.#terminal.info(this.#format.notice(`Not sent: ${what}: ${reason}`).join("\n"));
    // A pipe stops at the first refusal: nothing after it is written, what is
    // already on its way is confirmed, then the run exits 1 with the reason.
    this.#failure ??= `edge-chat: not sent: ${what}: ${reason}`;
    this.#room.dropUnsent();
    this.#finishing = true;
    this.#leaveIfDone();
  }

  #status(status: Status, detail: StatusDetail = {}): void {
    if (this.#leaving) return;
    if (status === "online") {
      this.#opened = true;
      return;
    }
    if (status === "reconnecting" && detail.retryAt !== undefined) {
      const seconds = Math.max(1, Math.round((detail.retryAt - Date.now()) / 1000));
      const what = this.#retries++ === 0 ? "Connection lost. Reconnecting" : "Still no connection. Trying again";
      this.#terminal.info(this.#format.notice(`${what} in ${seconds} s…`).join("\n"));
    } else if (status === "offline") {
      // The connection gives up only before the first welcome, when the
      // session was taken over by a newer connection, or when a moderator
      // removed us.
      if (detail.removed) {
        return void this.#leave(
          EXIT.failed,
          this.#removedBecause ?? "edge-chat: a moderator removed you from the room.",
        );
      }
      const message = detail.takenOver
        ? "edge-chat: this chat was opened again somewhere else (the same session joined on another connection)."
        : this.#opened
          ? `edge-chat: the connection to ${this.#options.given} closed before the room let us in.`
          : `Cannot reach ${this.#options.given}: is the server running? (npm run dev)`;
      void this.#leave(EXIT.failed, message);
    }
  }

  // --- from the keyboard or the pipe --------------------------------------

  #line(raw: string): void {
    if (this.#finishing || this.#leaving) return;
    if (this.#held !== null) this.#held.push(raw);
    else this.#handle(raw);
  }

  /** Runs a command that names someone once the roster is known; until
   * then the lines after it wait too, so that the room sees them in order. */
  /** Commands waiting for the room (#when), in the order they were typed. */
  #waiting: { ready: () => boolean; run: () => void }[] = [];

  /**
   * Runs a command once `ready()` says the room is where it needs to be
   * (now, if it already is), and says why not when it cannot; while it
   * waits, the lines after it wait too (#held), so that the room sees them
   * in order. Commands that name people wait for the roster (the welcome:
   * a pipe's lines come before it); `/delete` and `/edit` without an id
   * mean our last message, the one just written too, so they wait until
   * the room has confirmed everything before them.
   */
  #when(ready: () => boolean, command: () => string | null): void {
    const run = (): void => {
      const problem = command();
      if (problem !== null) this.#reply(problem);
    };
    if (this.#waiting.length === 0 && ready()) return run();
    this.#held ??= [];
    this.#waiting.push({ ready, run });
  }

  /** After each frame from the room: the waiting commands that can run now, in order, then the lines held behind them. */
  #runWaiting(): void {
    if (this.#waiting.length === 0 || this.#leaving) return;
    while (this.#waiting[0]?.ready()) this.#waiting.shift()?.run();
    if (this.#waiting.length === 0) this.#release();
  }

  /** In the room (the roster is known). */
  readonly #joined = (): boolean => this.#room.me !== null;
  /** In the room, and everything we wrote is confirmed (it has its id). */
  readonly #allConfirmed = (): boolean => this.#room.me !== null && this.#room.unconfirmed === 0;

  /** The lines held while a piped /send uploaded, now in order (up to the next /send). */
  #release(): void {
    const held = this.#held ?? [];
    this.#held = null;
    if (this.#failure !== null || this.#leaving) return;
    for (let i = 0; i < held.length; i++) {
      this.#handle(held[i]!);
      if (this.#held !== null) {
        (this.#held as string[]).push(...held.slice(i + 1));
        return;
      }
    }
  }

  #handle(raw: string): void {
    const text = raw.trim();
    if (text === "") return;
    const command = parseCommand(text);
    switch (command.kind) {
      case "message":
        this.#room.say(command.text, command.action, command.replyTo);
        if (this.#interactive && this.#room.me !== null && !this.#room.joined) {
          this.#terminal.info(this.#format.notice("Not connected: it goes out once the room is back.").join("\n"));
        }
        return;
      case "nick": {
        const problem = this.#room.rename(command.nick);
        if (problem === null) return;
        if (this.#interactive) this.#terminal.info(problem);
        else void this.#leave(EXIT.failed, `edge-chat: cannot rename: ${problem}`);
        return;
      }
      // These name people: they wait for the room's roster (a pipe's lines
      // come before the welcome), and so does every line after them.
      case "role":
        return this.#when(this.#joined, () => this.#room.setRoleByNick(command.nick, command.role));
      case "kick":
      case "ban":
        return this.#when(this.#joined, () => this.#room.remove(command.kind, command.words));
      case "settings":
        return this.#room.changeSettings(command.changes);
      case "topic": {
        const topic = this.#room.settings.topic;
        return this.#reply(topic === "" ? "No topic is set." : `Topic: ${sanitizeLine(topic)}`);
      }
      case "newkey":
        return this.#room.rotateOwnerKey();
      case "edit": {
        const { text } = command;
        return this.#when(this.#allConfirmed, () => this.#room.editLast(text));
      }
      case "react": {
        const { id, emoji } = command;
        if (id !== undefined)
          return this.#when(this.#joined, () => {
            this.#room.toggleReaction(id, emoji);
            return null;
          });
        return this.#when(this.#allConfirmed, () => this.#room.reactLast(emoji));
      }
      case "search": {
        const { query } = command;
        return this.#when(this.#joined, () =>
          this.#room.search(query) ? null : "Not connected: search once the room is back.",
        );
      }
      case "delete": {
        const { id } = command;
        if (id !== undefined) return this.#room.deleteMessage(id);
        return this.#when(this.#allConfirmed, () => this.#room.deleteLast());
      }
      case "clear":
        return this.#room.clearHistory();
      case "ids":
        this.#format.showIds = command.on;
        return this.#reply(
          command.on ? "Message ids are shown (#42): /delete 42 deletes message #42." : "Message ids are hidden.",
        );
      case "modlog":
        return this.#room.modlogRequest();
      case "bans":
      case "unban":
        return this.#room.bansRequest(command.kind === "unban" ? command.ban : undefined);
      case "who":
        return this.#reply(this.#who());
      case "help":
        return this.#reply(HELP.join("\n"));
      case "quit":
        return this.#finish();
      case "send":
        return this.#send(command.path);
      case "usage":
        return this.#reply(command.text);
      case "unknown":
        // A pipe may well carry lines that start with "/" (paths): they are
        // messages there. A person gets told about the typo instead.
        if (this.#interactive) this.#reply(`Unknown command /${sanitizeLine(command.name)}. Type /help for the list.`);
        else this.#room.say(text, false);
        return;
    }
  }

  #who(): string {
    const users = this.#room.roster.sorted();
    if (users.length === 0) return "Not in the room yet.";
    const names = users.map(
      (user) =>
        this.#format.name(user) +
        (user.role === undefined ? "" : ` (${user.role})`) +
        (user.id === this.#room.me?.id ? " (you)" : ""),
    );
    return `${users.length} in #${this.#options.room}: ${names.join(", ")}`;
  }

  #names(users: User[]): string {
    return users
      .sort((a, b) => a.nick.localeCompare(b.nick))
      .map((user) => this.#format.name(user))
      .join(", ");
  }

  async #askNick(): Promise<string | null> {
    for (;;) {
      const answer = await this.#terminal.ask("Choose your nickname:");
      if (answer === null) {
        // End of input at the question: nothing to say, nothing to send.
        void this.#leave(EXIT.ok);
        return null;
      }
      const nick = parseNick(answer, this.#room.limits?.nickLength ?? NO_LIMIT);
      if (nick.ok) return nick.nick;
      this.#terminal.info(nick.message);
    }
  }

  // --- leaving --------------------------------------------------------------

  /** Input is over: leave once everything sent is confirmed. Before the
   * first welcome that means once joined, even with nothing to send, so
   * that the exit code always says whether the room could be reached. */
  #finish(): void {
    if (this.#finishing) return;
    this.#finishing = true;
    if (this.#room.me === null) return; // #welcome leaves after the welcome
    const unconfirmed = this.#room.unconfirmed;
    if (unconfirmed === 0) {
      this.#leaveIfDone();
    } else if (this.#interactive) {
      this.#terminal.info(`Sending ${unconfirmed} more… (Ctrl-C leaves now)`);
    }
  }

  /** Closes the socket properly (1000: the others see "left" at once), then ends the run. */
  async #leave(code: number, message?: string): Promise<void> {
    if (this.#leaving) return;
    this.#leaving = true;
    const unconfirmed = this.#room.unconfirmed;
    const closed = this.#room.close(1000, "bye");
    this.#terminal.close();
    if (message !== undefined) process.stderr.write(`${message}\n`);
    // A pipe succeeds only when every line was confirmed.
    if (code === EXIT.ok && !this.#interactive && unconfirmed > 0) {
      code = EXIT.failed;
      process.stderr.write(
        `edge-chat: left with ${unconfirmed} line${unconfirmed === 1 ? "" : "s"} not confirmed by the room.\n`,
      );
    }
    await closed;
    this.#resolve(code);
  }

  // --- output ---------------------------------------------------------------

  /** Chat lines: the human format, unless --json prints frames instead. */
  #show(lines: string[]): void {
    if (!this.#options.json) this.#terminal.print(lines);
  }

  /** The answer to a command: with the chat, or on stderr next to JSON. */
  #reply(text: string): void {
    if (this.#options.json) this.#terminal.info(text);
    else this.#terminal.print([text]);
  }
}

/** The start of a long message, for error messages. */
function clip(text: string): string {
  const first = text.split("\n", 1)[0]!;
  return first.length > 60 || first !== text ? `${first.slice(0, 60)}…` : text;
}
