/**
 * One chat room: a Durable Object per room name, so that everyone in a room
 * meets in one place that can order their messages, while different rooms
 * never wait for each other.
 *
 * The room uses the WebSocket Hibernation API: an idle room is evicted from
 * memory while its sockets stay open, and wakes up (through the constructor)
 * when a frame arrives. Nothing here sets a timer, so an idle room costs
 * nothing. Every handler is synchronous from start to finish: no frame can
 * start while another is half done, so per-socket order holds and a check
 * (is this nick free?) is never separated from the change it guards.
 *
 * This file is the dispatcher: it checks each frame against the room's
 * limits (limits.ts), parses it once, and hands it to the feature module it
 * is about: presence.ts (joining, renames, typing, leaving), chat.ts
 * (messages, deletions: the history's log), moderation.ts (roles, removing
 * people, settings), calls.ts (the call), room-files.ts (uploads, from
 * the Worker). What they share of the room is room-parts.ts; the sockets and
 * the batching sender are connections.ts, the SQLite tables storage.ts. The
 * room's one alarm (join deadlines, file deletions, expiry) is here.
 */
import { DurableObject } from "cloudflare:workers";
import { parseConfig, type Config } from "./config";
import { Calls } from "./calls";
import { Chat } from "./chat";
import { Moderation } from "./moderation";
import { Presence } from "./presence";
import { RoomFiles, type UploadFinish, type UploadStart } from "./room-files";
import type { RoomParts } from "./room-parts";
import { Connections } from "./connections";
import { ReadQueue, unitsOf } from "./read-queue";
import { searchLists } from "./search-index";
import { DAY_MS, SocketLimits, roomRules, type RoomRules } from "./limits";
import {
  CLOSE_KICKED,
  CLOSE_POLICY_VIOLATION,
  PING,
  PONG,
  cidOf,
  parseClientFrame,
  utf8Length,
  type ErrorCode,
  type ParsedClientFrame,
} from "../shared/protocol";
import { CLIENT_IP_HEADER, IpFrameLimit } from "./ip-rate-limit";
import { log, roomForLog } from "./log";
import { RoomStorage, UPLOAD_TIMEOUT_MS } from "./storage";

/** Close codes that cannot be sent back in a close frame (RFC 6455 §7.4.1). */
const UNSENDABLE_CLOSE_CODES = new Set([1005, 1006, 1015]);

const BINARY_FRAME_REFUSAL: ParsedClientFrame = {
  ok: false,
  code: "bad_frame",
  message: "Binary frames are not supported: send JSON text frames.",
};

export class Room extends DurableObject<Env> {
  readonly #config: Config;
  readonly #rules: RoomRules;
  /** The room's SQLite storage, opened when first needed (#store): a room
   * that is only connected to writes nothing but its alarm. */
  #storage: RoomStorage | null = null;
  readonly #sockets: Connections;
  readonly #limits: SocketLimits;
  /** Reads of the history for one person, in their turn (read-queue.ts). */
  readonly #reads: ReadQueue;
  /** The room's features in modules of their own, each handed what it needs of the room. */
  readonly #presence: Presence;
  readonly #moderation: Moderation;
  readonly #chat: Chat;
  readonly #calls: Calls;
  readonly #files: RoomFiles;
  readonly #roomName: string;
  /** The room as logs name it: a private room's name is its only secret (roomForLog). */
  readonly #logName: string;
  /** When the room's alarm is set for: null for none, undefined when not
   * known yet (after a wake-up). */
  #alarmAt: number | null | undefined = undefined;
  #alarmQueue: Promise<void> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Configuration is checked, and what follows from it computed, once per object start.
    this.#config = parseConfig(env);
    this.#rules = roomRules(this.#config);
    // The Worker reaches every room by getByName, so the object knows its name.
    this.#roomName = ctx.id.name ?? "";
    this.#logName = roomForLog(this.#roomName);
    // The flush stores the turn's messages first (chat.ts: stored before seen).
    this.#sockets = new Connections(ctx, () => this.#chat.write());
    const ipFrames = this.#config.ipRateLimits ? new IpFrameLimit(env.MESSAGE_RATE_LIMIT, () => this.#logName) : null;
    this.#limits = new SocketLimits(this.#rules, this.#sockets, ipFrames, this.#logName);
    this.#reads = new ReadQueue(this.#rules.readRate);
    // What the feature modules get of the room (room-parts.ts). The store is
    // a getter, opened on first use, and a getter cannot be an arrow.
    const room = this;
    const parts: RoomParts = {
      config: this.#config,
      rules: this.#rules,
      sockets: this.#sockets,
      reads: this.#reads,
      get store() {
        return room.#store;
      },
      name: this.#roomName,
      logName: this.#logName,
      refuse: (ws, code, message, cid) => this.#refuse(ws, code, message, cid),
      armAlarm: (at) => this.#armAlarm(at),
      featureOff: (feature) => this.#moderation.offRefusal(feature),
      slowMode: (user, now) => this.#moderation.slowMode(user, now),
      busyEditing: (now) => this.#limits.edit(now),
      publish: (message) => this.#chat.publish(message),
    };
    this.#moderation = new Moderation(parts, (ws, told, announced) => {
      // Told first, then closed: the close flushes what the socket is due.
      this.#sockets.send(ws, told);
      this.#sockets.close(ws, CLOSE_KICKED, "removed by a moderator");
      this.#presence.leave(ws, CLOSE_KICKED, announced);
    });
    this.#chat = new Chat(parts, this.#moderation, () => void this.#files.sweep());
    this.#presence = new Presence(parts, this.#chat, this.#limits, this.#moderation, (ws) =>
      ctx.getWebSocketAutoResponseTimestamp(ws),
    );
    this.#calls = new Calls(parts);
    this.#files = new RoomFiles(parts, env.FILES);
    // Keep-alive pings are answered by the runtime without waking the room.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  /** The room's storage, opened (and migrated) on first use. */
  get #store(): RoomStorage {
    if (this.#storage === null) {
      const { historyRetention, historyMaxBytes, searchWordsPerMessage } = this.#config;
      this.#storage = new RoomStorage(this.ctx.storage, historyRetention, {
        answerBytes: historyMaxBytes,
        room: this.#roomName,
        searchWords: searchWordsPerMessage,
      });
      // Objects of files dropped before the room last stopped are deleted now.
      if (this.#storage.doomedFiles(1).length > 0) void this.#files.sweep();
    }
    return this.#storage;
  }

  /** A WebSocket upgrade, already checked by the Worker (room name, Origin). */
  override async fetch(request: Request): Promise<Response> {
    // IP_RATE_LIMITS=off switches every per-address limit off (load tests
    // from one machine): the room then does not know addresses at all.
    const ip = this.#config.ipRateLimits ? request.headers.get(CLIENT_IP_HEADER) : null;
    return this.#presence.arrive(ip, Date.now());
  }

  /**
   * Makes sure the room's alarm rings by `at`. One alarm serves every
   * deadline (sockets that must join, files to delete, the room's expiry);
   * when it rings, it does what is due and sets itself for the next. A room
   * with nothing due has no alarm, so an idle room sleeps. Calls are queued,
   * so that after a wake-up (when the alarm's time is unknown) a later
   * deadline never replaces an earlier one.
   */
  #armAlarm(at: number): void {
    if (this.#alarmAt != null && this.#alarmAt <= at) return;
    this.#alarmQueue = this.#alarmQueue
      .then(async () => {
        if (this.#alarmAt === undefined) this.#alarmAt = await this.ctx.storage.getAlarm();
        if (this.#alarmAt !== null && this.#alarmAt <= at) return;
        this.#alarmAt = at;
        await this.ctx.storage.setAlarm(at);
      })
      .catch((error: unknown) =>
        log("internal_error", { room: this.#logName, error: `setting the alarm: ${String(error)}` }),
      );
  }

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    // Frames still arriving on a socket the room closed (a flood cut off
    // mid-burst) cost nothing: not read, not answered, not logged.
    if (ws.readyState !== WebSocket.OPEN) return;
    try {
      const now = Date.now();
      this.#presence.heard(ws, now);
      this.#receive(ws, message, now);
    } catch (error) {
      // Never let a handler throw into the runtime, and never show a client
      // the internals: the details go to the log (`wrangler tail`).
      log("internal_error", { room: this.#logName, error: String(error) });
      this.#refuse(
        ws,
        "internal",
        "Something went wrong on the server and your last frame was not applied; please retry.",
      );
    }
  }

  override webSocketClose(ws: WebSocket, code: number): void {
    // Complete the close handshake: without a reply the client only sees 1006
    // after a timeout. Some codes may not be echoed; those get a bare close.
    if (UNSENDABLE_CLOSE_CODES.has(code)) this.#sockets.close(ws);
    else this.#sockets.close(ws, code, "Bye");
    this.#presence.leave(ws, code);
  }

  override webSocketError(ws: WebSocket, error: unknown): void {
    log("socket_error", { room: this.#logName, error: String(error) });
    this.#presence.leave(ws);
  }

  // -------------------------------------------------------------------------

  /** The hot path: one incoming frame, parsed once, each piece of work once. */
  #receive(ws: WebSocket, message: string | ArrayBuffer, now: number): void {
    // Every frame of any kind, joined or not, costs a token before anything
    // is read of it (limits.ts).
    const flood = this.#limits.frame(ws, now);
    if (flood !== null) return this.#refuse(ws, "rate_limited", flood);
    const max = this.#config.maxFrameBytes;
    const bytes =
      typeof message !== "string" ? message.byteLength : message.length * 3 <= max ? 0 : utf8Length(message);
    if (bytes > max) {
      log("frame_too_large", { room: this.#logName, user: this.#sockets.state(ws).user?.id, bytes });
      this.#refuse(ws, "too_long", `Frames are limited to ${max} bytes.`);
      this.#sockets.close(ws, 1009, "Frame too large");
      return;
    }
    const parsed: ParsedClientFrame =
      typeof message === "string" ? parseClientFrame(message, this.#rules.frameLimits) : BINARY_FRAME_REFUSAL;

    const state = this.#sockets.state(ws);
    const overRate = this.#limits.action(ws, state, parsed.ok ? parsed.frame.type : null, now);
    if (overRate !== null) return this.#refuse(ws, "rate_limited", overRate, cidOf(parsed));
    if (!parsed.ok) return this.#refuse(ws, parsed.code, parsed.message, parsed.cid);

    // Each frame to the module it is about.
    const frame = parsed.frame;
    if (frame.type === "join") return this.#presence.join(ws, state, frame, now);
    const user = state.user;
    if (user === null) {
      return this.#refuse(
        ws,
        "not_joined",
        'Join the room first: send {"type":"join","nick":"your name"}.',
        cidOf(parsed),
      );
    }
    switch (frame.type) {
      case "message": {
        const slow = this.#moderation.slowMode(user, now);
        if (slow !== null) return this.#refuse(ws, "slow_mode", slow.message, frame.cid);
        return this.#chat.say(ws, user, frame, now);
      }
      case "history":
        return this.#read(ws, () => unitsOf(this.#sockets.send(ws, this.#chat.page(frame.before, user))));
      case "edit":
        return this.#chat.edit(ws, user, frame.id, frame.text, now);
      case "react":
        return this.#chat.react(ws, user, frame, now);
      case "reactions":
        return this.#read(ws, () => unitsOf(this.#chat.reactors(ws, frame)));
      case "search":
        // A search costs one more unit for every word: a list of the index it walks.
        return this.#read(
          ws,
          () => unitsOf(this.#sockets.send(ws, this.#chat.search(frame, user))) + searchLists(frame.query),
        );
      case "delete":
        return this.#chat.delete(ws, user, frame.id, now);
      case "clear":
        return this.#chat.clear(ws, user, now);
      case "nick":
        return this.#presence.rename(ws, state, user, frame, now);
      case "typing":
        return this.#presence.typing(ws, state, user, now);
      case "call":
        return this.#calls.state(ws, state, user, frame);
      case "signal":
        return this.#calls.signal(ws, state, user, frame, message as string, now);
      case "role":
        return this.#moderation.setRole(ws, user, frame);
      case "kick":
      case "ban":
        return this.#moderation.remove(ws, user, frame, now);
      case "bans":
        return this.#moderation.bans(ws, user, now);
      case "settings":
        return this.#moderation.changeSettings(ws, user, frame);
      case "modlog":
        return this.#moderation.modlog(ws, user);
      case "rotate":
        return this.#moderation.rotate(ws, user, now);
      case "unban":
        return this.#moderation.unban(ws, user, frame.ban, now);
    }
  }

  /** How many people are in the room now (GET /api/rooms/:room): counted
   * from its sockets, without opening its database. */
  online(): number {
    return this.#sockets.memberCount;
  }

  /** A read of the history for one person, answered in its turn (read-queue.ts),
   * if the socket is still here then; or refused now. `answer` sends, and
   * returns what that cost, in units of the budget (read-queue.ts). */
  #read(ws: WebSocket, answer: () => number): void {
    const asker = this.#sockets.state(ws).ip ?? ws;
    const refused = this.#reads.ask(asker, () => {
      if (ws.readyState !== WebSocket.OPEN || this.#sockets.state(ws).user === null) return 0;
      try {
        return answer();
      } catch (error) {
        log("internal_error", { room: this.#logName, error: String(error) });
        this.#refuse(ws, "internal", "Something went wrong on the server and that was not answered; please retry.");
        return 0;
      }
    });
    if (refused !== null) this.#refuse(ws, "rate_limited", refused);
  }

  /** Gives the room an owner (POST /api/rooms, or a claim): the owner key,
   * shown once, or null when the room already has one (moderation.ts). */
  claim(): string | null {
    return this.#moderation.claim(Date.now());
  }

  // -- Files (room-files.ts): the Worker's calls during an upload. -------

  /** Upload step 1: may the holder of this session token upload `size` bytes? */
  startUpload(request: { session: string; name: string; size: number; type: string }): UploadStart {
    return this.#files.start(request);
  }

  /** Upload step 2: the object is stored; its message goes to everyone. */
  finishUpload(id: string, type: string): UploadFinish {
    return this.#files.finish(id, type);
  }

  /** An upload that failed on its way to R2: its bytes no longer count. */
  abandonUpload(id: string): void {
    this.#files.abandon(id);
  }

  /**
   * The one alarm of the room: closes sockets that missed their join
   * deadline, retries file deletions, and deletes a room that nobody has
   * used for ROOM_EXPIRY_DAYS (or that nobody ever joined); then sets itself
   * for whatever is due next.
   */
  override async alarm(): Promise<void> {
    const now = Date.now();
    this.#alarmAt = null;
    const nextJoinDeadline = this.#presence.closeLate(now);
    const uploads = this.#store.giveUpUploads(now - UPLOAD_TIMEOUT_MS);
    await this.#files.sweep();
    const expiryMs = this.#rules.expiryMs;
    const lastActive = this.#store.lastActive;
    const unused = lastActive === null || (expiryMs > 0 && now - lastActive >= expiryMs);
    if (unused && this.#sockets.memberCount === 0 && nextJoinDeadline === null) return this.#expire(lastActive);
    if (expiryMs > 0 && lastActive !== null) {
      // People are here: look again one expiry from now.
      this.#armAlarm(unused ? now + expiryMs : lastActive + expiryMs);
    }
    if (nextJoinDeadline !== null) this.#armAlarm(nextJoinDeadline);
    if (uploads.oldestPending !== null) this.#armAlarm(uploads.oldestPending + UPLOAD_TIMEOUT_MS);
  }

  /** Deletes everything the room has: its files' objects in R2 first (so
   * none is left behind, retried by the alarm if R2 fails), then all of its
   * storage, alarm included. The room then no longer exists. */
  async #expire(lastActive: number | null): Promise<void> {
    this.#store.doomAllFiles();
    await this.#files.sweep();
    // Someone may have come in while R2 answered (a join is not held back by
    // the delete), and files that could not be deleted wait for the retry.
    if (this.#sockets.openCount > 0) return;
    if (this.#store.doomedFiles(1).length > 0) return this.#armAlarm(Date.now() + 60_000);
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.#storage = null;
    this.#alarmAt = null;
    if (lastActive !== null)
      log("room_expired", { room: this.#logName, idleDays: Math.floor((Date.now() - lastActive) / DAY_MS) });
  }

  /**
   * Answers a frame with an error. A refusal is the client's doing (but
   * `internal`), and costs it one of its refusals: a socket that keeps
   * sending what is refused is closed (1008) with a last error saying why,
   * instead of being answered for ever.
   */
  #refuse(ws: WebSocket, code: ErrorCode, message: string, cid?: string): void {
    this.#sockets.send(
      ws,
      cid === undefined ? { type: "error", code, message } : { type: "error", code, message, cid },
    );
    if (code === "internal" || this.#limits.refusal(ws, Date.now())) return;
    log("too_many_errors", { room: this.#logName, user: this.#sockets.state(ws).user?.id });
    this.#sockets.send(ws, {
      type: "error",
      code: "too_many_errors",
      message: `This connection sent ${this.#config.maxRefusals} refused frames in a row, so it is closed. Fix what the errors said, then connect again.`,
    });
    this.#sockets.close(ws, CLOSE_POLICY_VIOLATION, "too many errors");
    this.#presence.leave(ws, CLOSE_POLICY_VIOLATION);
  }
}
