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
 */
import { DurableObject } from "cloudflare:workers";
import { parseConfig, type Config } from "./config";
import { Calls } from "./calls";
import { Chat } from "./chat";
import { RoomFiles, type UploadFinish, type UploadStart } from "./room-files";
import type { RoomParts } from "./room-parts";
import { Connections, sendNow, type SocketState } from "./connections";
import { newSessionToken, newUserId } from "./ids";
import {
  CLOSE_PING_TIMEOUT,
  CLOSE_POLICY_VIOLATION,
  CLOSE_SESSION_TAKEN_OVER,
  PING,
  PONG,
  cidOf,
  parseClientFrame,
  utf8Length,
  type ErrorCode,
  type FrameLimits,
  type JoinFrame,
  type NickFrame,
  type ParsedClientFrame,
  type RoomLimits,
  type User,
  type WelcomeFrame,
} from "../shared/protocol";
import { CLIENT_IP_HEADER, IpFrameLimit } from "./ip-rate-limit";
import { fullBucket, takeToken, type Bucket, type BucketLimits } from "../shared/rate-limit";
import { log, roomForLog } from "./log";
import { RoomStorage, UPLOAD_TIMEOUT_MS, hashSessionToken } from "./storage";

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Close codes that cannot be sent back in a close frame (RFC 6455 §7.4.1). */
const UNSENDABLE_CLOSE_CODES = new Set([1005, 1006, 1015]);

/** Accepts an upgrade only to refuse it in-band, so that the client can tell
 * a refusal from a network fault: one error frame, then close 1013 (try later). */
function refuseUpgrade(code: ErrorCode, message: string): Response {
  const { 0: client, 1: server } = new WebSocketPair();
  server.accept();
  sendNow(server, { type: "error", code, message });
  server.close(1013, code === "room_full" ? "Room is full" : "Too many connections");
  return new Response(null, { status: 101, webSocket: client });
}

const BINARY_FRAME_REFUSAL: ParsedClientFrame = {
  ok: false,
  code: "bad_frame",
  message: "Binary frames are not supported: send JSON text frames.",
};

export class Room extends DurableObject<Env> {
  readonly #config: Config;
  readonly #frameLimits: FrameLimits;
  readonly #roomLimits: RoomLimits;
  readonly #bucketLimits: BucketLimits;
  /** The room's SQLite storage, opened when first needed (#store): a room
   * that is only connected to writes nothing but its alarm. */
  #storage: RoomStorage | null = null;
  readonly #sockets: Connections;
  /** The room's features in modules of their own, each handed what it needs of the room. */
  readonly #chat: Chat;
  readonly #calls: Calls;
  readonly #files: RoomFiles;
  /** Frames per client address across all rooms; null when IP_RATE_LIMITS is off. */
  readonly #ipFrames: IpFrameLimit | null;
  #roomName: string;
  /** The room as logs name it: a private room's name is its only secret (roomForLog). */
  #logName: string;
  readonly #rateLoggedAt = new WeakMap<WebSocket, number>();
  /** When each socket last sent a frame (in memory: after a wake-up, the
   * runtime's ping timestamps alone tell). */
  readonly #lastFrameAt = new WeakMap<WebSocket, number>();
  #lastSweep = 0;
  /** Per socket, in memory only: the budget for frames of any kind, and for
   * refusals. Both refill within seconds, faster than a room hibernates, so
   * a socket that wakes its room finds them full anyway. */
  readonly #budgets = new WeakMap<WebSocket, { frames: Bucket; refusals: Bucket }>();
  readonly #frameBudget: BucketLimits;
  readonly #refusalBudget: BucketLimits;
  /** SESSION_TTL_HOURS and ROOM_EXPIRY_DAYS in milliseconds (expiry 0: never). */
  readonly #sessionTtlMs: number;
  readonly #expiryMs: number;
  /** When the room's alarm is set for: null for none, undefined when not
   * known yet (after a wake-up). */
  #alarmAt: number | null | undefined = undefined;
  #alarmQueue: Promise<void> = Promise.resolve();
  /** This turn's messages, queued for everyone but not yet stored. */

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Configuration is checked once per object start, not per frame.
    this.#config = parseConfig(env);
    this.#frameLimits = { messageLength: this.#config.maxMessageLength, nickLength: this.#config.maxNickLength };
    this.#roomLimits = {
      ...this.#frameLimits,
      typingIntervalMs: this.#config.typingIntervalMs,
      rateBurst: this.#config.rateLimitBurst,
      ratePerSecond: this.#config.rateLimitPerSecond,
      fileBytes: this.#config.maxFileBytes,
    };
    this.#bucketLimits = { burst: this.#config.rateLimitBurst, perSecond: this.#config.rateLimitPerSecond };
    this.#frameBudget = { burst: this.#config.frameRateBurst, perSecond: this.#config.frameRatePerSecond };
    this.#refusalBudget = { burst: this.#config.maxRefusals, perSecond: 1 };
    this.#sessionTtlMs = this.#config.sessionTtlHours * HOUR_MS;
    this.#expiryMs = this.#config.roomExpiryDays * DAY_MS;
    // The Worker reaches every room by getByName, so the object knows its name.
    this.#roomName = ctx.id.name ?? "";
    this.#logName = roomForLog(this.#roomName);
    // The flush stores the turn's messages first (chat.ts: stored before seen).
    this.#sockets = new Connections(ctx, () => this.#chat.write());
    // What the feature modules get of the room (room-parts.ts). The store is
    // a getter, opened on first use, and a getter cannot be an arrow.
    const room = this;
    const parts: RoomParts = {
      config: this.#config,
      sockets: this.#sockets,
      get store() {
        return room.#store;
      },
      name: this.#roomName,
      logName: this.#logName,
      refuse: (ws, code, message, cid) => this.#refuse(ws, code, message, cid),
      armAlarm: (at) => this.#armAlarm(at),
      publish: (message) => this.#chat.publish(message),
    };
    this.#chat = new Chat(parts, () => void this.#files.sweep());
    this.#calls = new Calls(parts);
    this.#files = new RoomFiles(parts, env.FILES);
    this.#ipFrames = this.#config.ipRateLimits ? new IpFrameLimit(env.MESSAGE_RATE_LIMIT, () => this.#logName) : null;
    // Keep-alive pings are answered by the runtime without waking the room.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  /** The room's storage, opened (and migrated) on first use. */
  get #store(): RoomStorage {
    if (this.#storage === null) {
      const { historyRetention, historyMaxBytes } = this.#config;
      this.#storage = new RoomStorage(this.ctx.storage, historyRetention, {
        answerBytes: historyMaxBytes,
        room: this.#roomName,
      });
      // Objects of files dropped before the room last stopped are deleted now.
      if (this.#storage.doomedFiles(1).length > 0) void this.#files.sweep();
    }
    return this.#storage;
  }

  /** A WebSocket upgrade, already checked by the Worker (room name, Origin). */
  override async fetch(request: Request): Promise<Response> {
    const now = Date.now();
    // IP_RATE_LIMITS=off switches every per-address limit off (load tests
    // from one machine): the room then does not know addresses at all.
    const ip = this.#config.ipRateLimits ? request.headers.get(CLIENT_IP_HEADER) : null;
    const perAddress = this.#config.maxConnectionsPerAddress;
    if (ip !== null && this.#sockets.countFrom(ip) >= perAddress) {
      log("too_many_connections", { room: this.#logName, connections: perAddress });
      return refuseUpgrade(
        "too_many_connections",
        `Your address already has ${perAddress} connections to this room; close one, then try again.`,
      );
    }
    // A socket that has not joined holds a place without being anyone. Only
    // people and sockets past half their join deadline count toward the
    // room's size (a client that joins at once is never mistaken for a
    // squatter, however slow the room is); when that is full, the oldest
    // such socket gives its place up, so that sockets that never join
    // cannot keep people out. Only a room full of people is full.
    const max = this.#config.maxConnectionsPerRoom;
    if (this.#sockets.openCount >= max) {
      const halfDeadline = this.#config.joinTimeoutMs / 2;
      const settled = this.#sockets
        .unjoined()
        .filter((ws) => now - (this.#sockets.state(ws).openedAt ?? 0) >= halfDeadline);
      if (this.#sockets.memberCount + settled.length >= max) {
        const squatter = settled[0];
        if (squatter === undefined) {
          log("room_full", { room: this.#logName, connections: this.#sockets.openCount });
          return refuseUpgrade("room_full", `This room already has ${max} people; try again later.`);
        }
        this.#closeUnjoined(
          squatter,
          "The room is full and this connection had not joined, so it gave its place to someone else; connect again and join.",
        );
      }
    }
    this.#sweepSilentSockets(now); // before a newcomer sees the roster
    const { 0: client, 1: server } = new WebSocketPair();
    const state: SocketState = {
      user: null,
      sessionHash: null,
      ip,
      openedAt: now,
      bucket: fullBucket(this.#bucketLimits, now),
      typingAt: 0,
    };
    this.#sockets.accept(server, state);
    this.#armAlarm(now + this.#config.joinTimeoutMs);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Closes a socket that never joined, saying why (close 1008). */
  #closeUnjoined(ws: WebSocket, why: string): void {
    this.#sockets.send(ws, { type: "error", code: "not_joined", message: why });
    this.#sockets.close(ws, CLOSE_POLICY_VIOLATION, "not joined");
  }

  /** Closes the sockets that have not joined within JOIN_TIMEOUT_MS; returns
   * when the next of the others will be due. */
  #closeLateSockets(now: number): number | null {
    const timeout = this.#config.joinTimeoutMs;
    for (const ws of this.#sockets.unjoined()) {
      const due = (this.#sockets.state(ws).openedAt ?? 0) + timeout;
      if (due > now) return due;
      this.#closeUnjoined(
        ws,
        `Join within ${timeout / 1000} s of connecting: send {"type":"join","nick":"your name"}. Connect again to join.`,
      );
    }
    return null;
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
      this.#lastFrameAt.set(ws, now);
      this.#sweepSilentSockets(now);
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
    this.#leave(ws, code);
  }

  override webSocketError(ws: WebSocket, error: unknown): void {
    log("socket_error", { room: this.#logName, error: String(error) });
    this.#leave(ws);
  }

  // -------------------------------------------------------------------------

  /** The hot path: one incoming frame, parsed once, each piece of work once. */
  #receive(ws: WebSocket, message: string | ArrayBuffer, now: number): void {
    // Every frame of any kind, joined or not, costs a token before anything
    // is read of it: a flood is cut off at the price of one subtraction.
    const budgets = this.#budgetsOf(ws, now);
    if (this.#frameBudget.burst > 0 && !takeToken(budgets.frames, this.#frameBudget, now)) {
      const { burst, perSecond } = this.#frameBudget;
      return this.#refuse(
        ws,
        "rate_limited",
        `Slow down: at most ${burst} frames of any kind at once, then ${perSecond} per second. That frame was dropped.`,
      );
    }
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
      typeof message === "string" ? parseClientFrame(message, this.#frameLimits) : BINARY_FRAME_REFUSAL;

    const state = this.#sockets.state(ws);
    // Frames that do something count against the room's rate limit, refused
    // ones included (a flood of garbage is still a flood); typing notices
    // have their own, silent throttle and signals their own budget.
    const kind = parsed.ok ? parsed.frame.type : null;
    const counted = kind !== "typing" && kind !== "signal";
    if (counted && this.#bucketLimits.burst > 0) {
      const allowed = takeToken(state.bucket, this.#bucketLimits, now);
      this.#sockets.save(ws, state);
      if (!allowed) {
        // One line per socket per 10 s: a flood must not become a flood of logs.
        if (now - (this.#rateLoggedAt.get(ws) ?? 0) >= 10_000) {
          this.#rateLoggedAt.set(ws, now);
          log("rate_limited", { room: this.#logName, user: state.user?.id });
        }
        const { burst, perSecond } = this.#bucketLimits;
        this.#refuse(
          ws,
          "rate_limited",
          `Slow down: at most ${burst} frames at once, then ${perSecond} per second. That frame was dropped.`,
          cidOf(parsed),
        );
        return;
      }
    }
    // Every frame counts against its address too, in all rooms together;
    // signals (a call's setup sends dozens) in a count of their own.
    if (state.ip !== null && this.#ipFrames !== null) {
      const wait = this.#ipFrames.admit(kind === "signal" ? `signal ${state.ip}` : state.ip, now);
      if (wait !== null) {
        const message = `Too many frames from your address, in all rooms together; try again in ${wait} s. That frame was dropped.`;
        return this.#refuse(ws, "rate_limited", message, cidOf(parsed));
      }
    }
    if (!parsed.ok) return this.#refuse(ws, parsed.code, parsed.message, parsed.cid);

    const frame = parsed.frame;
    if (frame.type === "join") return this.#join(ws, state, frame, now);
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
      case "message":
        return this.#chat.say(ws, user, frame, now);
      case "nick":
        return this.#rename(ws, state, user, frame, now);
      case "history":
        return this.#sockets.send(ws, this.#chat.page(frame.before));
      case "typing":
        if (now - state.typingAt < this.#config.typingIntervalMs) return;
        state.typingAt = now;
        this.#sockets.save(ws, state);
        this.#sockets.broadcast({ type: "typing", user }, ws);
        return;
      case "call":
        return this.#calls.state(ws, state, user, frame);
      case "signal":
        return this.#calls.signal(ws, state, user, frame, message as string, now);
    }
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
    const nextJoinDeadline = this.#closeLateSockets(now);
    const uploads = this.#store.giveUpUploads(now - UPLOAD_TIMEOUT_MS);
    await this.#files.sweep();
    const expiryMs = this.#expiryMs;
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

  #join(ws: WebSocket, state: SocketState, frame: JoinFrame, now: number): void {
    if (state.user !== null) {
      return this.#refuse(ws, "already_joined", "This connection has already joined; send a nick frame to rename.");
    }
    const ttlMs = this.#sessionTtlMs;
    const claimed =
      frame.session === undefined ? null : { token: frame.session, tokenHash: hashSessionToken(frame.session) };
    // A session is valid for SESSION_TTL_HOURS after its last use, and for as
    // long as a socket holds it: someone connected for days keeps who they are.
    const saved =
      claimed === null
        ? null
        : (this.#store.findSession(claimed.tokenHash, now, ttlMs) ??
          this.#sockets.findBySession(claimed.tokenHash)?.user ??
          null);
    let identity: { user: User; token: string; tokenHash: string };
    // A socket still open under this identity: a half-open connection from
    // before the client's reconnect, to be replaced without any notice.
    let previous: WebSocket | undefined;

    if (claimed !== null && saved !== null) {
      previous = this.#sockets.findByUserId(saved.id);
      const holder = this.#sockets.findByNick(saved.nick);
      if (holder !== undefined && holder !== previous) {
        return this.#refuse(
          ws,
          "nick_taken",
          `Someone else is "${saved.nick}" in this room now; join with another nickname and no session.`,
        );
      }
      identity = { user: saved, ...claimed };
    } else {
      // No session, or an unknown or expired one: a new identity.
      if (this.#sockets.findByNick(frame.nick) !== undefined) {
        return this.#refuse(ws, "nick_taken", `"${frame.nick}" is already in this room; pick another nickname.`);
      }
      const token = newSessionToken();
      identity = { user: { id: newUserId(), nick: frame.nick }, token, tokenHash: hashSessionToken(token) };
    }

    const { user, token, tokenHash } = identity;
    if (previous !== undefined) {
      log("take_over", { room: this.#logName, user: user.id });
      // The call goes on over the new socket: nobody is told anything.
      const call = this.#sockets.state(previous).call ?? null;
      if (call !== null) {
        state.call = call;
        this.#sockets.save(ws, state);
      }
      this.#sockets.leave(previous);
      this.#sockets.close(previous, CLOSE_SESSION_TAKEN_OVER, "session taken over");
    }
    this.#store.saveSession(tokenHash, user, now, ttlMs);
    this.#store.markActive(now);
    this.#sockets.join(ws, user, tokenHash);
    if (this.#expiryMs > 0) this.#armAlarm(now + this.#expiryMs);

    const history = this.#chat.historyOnJoin(frame.since);
    const welcome: WelcomeFrame = {
      type: "welcome",
      room: this.#roomName,
      you: user,
      session: token,
      users: this.#sockets.users,
      history: history.messages,
      limits: this.#roomLimits,
      call: {
        members: this.#sockets.callMembers(),
        maxParticipants: this.#config.maxCallParticipants,
        iceServers: [...this.#config.iceServers],
      },
    };
    if (history.truncated) welcome.truncated = true;
    this.#sockets.send(ws, welcome);
    if (previous === undefined) this.#sockets.broadcast({ type: "joined", user }, ws);
    log("join", {
      room: this.#logName,
      user: user.id,
      resumed: frame.since !== undefined,
      online: this.#sockets.memberCount,
    });
  }

  #rename(ws: WebSocket, state: SocketState, user: User, frame: NickFrame, now: number): void {
    const holder = this.#sockets.findByNick(frame.nick);
    if (holder !== undefined && holder !== ws) {
      return this.#refuse(
        ws,
        "nick_taken",
        `"${frame.nick}" is already in this room; pick another nickname.`,
        frame.cid,
      );
    }
    if (frame.nick === user.nick) {
      // Nothing changes: confirm to the sender alone rather than tell everyone.
      return this.#sockets.send(ws, { type: "renamed", user, from: user.nick });
    }
    const renamed: User = { id: user.id, nick: frame.nick };
    this.#sockets.rename(ws, renamed);
    if (state.sessionHash !== null) {
      this.#store.saveSession(state.sessionHash, renamed, now, this.#sessionTtlMs);
    }
    this.#sockets.broadcast({ type: "renamed", user: renamed, from: user.nick });
  }

  /**
   * Drops members whose client pings (every 30 s for ours) but has gone
   * silent: a laptop that slept, a phone that lost its network, leaving a
   * half-open socket the runtime may not notice for a long time. Checked
   * only while the room is busy anyway (frames, upgrades), at most every
   * third of the timeout, so that no timer wakes an idle room; a newcomer
   * always gets a fresh check before it sees the roster.
   */
  #sweepSilentSockets(now: number): void {
    const timeout = this.#config.pingTimeoutMs;
    if (timeout === 0 || now - this.#lastSweep < timeout / 3) return;
    this.#lastSweep = now;
    for (const ws of this.#sockets.memberSockets()) {
      const pinged = this.ctx.getWebSocketAutoResponseTimestamp(ws);
      if (pinged === null) continue; // a client that never pings makes no promise to
      const lastHeard = Math.max(pinged.getTime(), this.#lastFrameAt.get(ws) ?? 0);
      if (now - lastHeard <= timeout) continue;
      this.#sockets.close(ws, CLOSE_PING_TIMEOUT, "ping timeout");
      this.#leave(ws, CLOSE_PING_TIMEOUT);
    }
  }

  #leave(ws: WebSocket, code?: number): void {
    const left = this.#sockets.leave(ws);
    if (left === null) return;
    log("leave", { room: this.#logName, user: left.user.id, code, online: this.#sockets.memberCount });
    const now = Date.now();
    this.#store.touchSession(left.sessionHash, now);
    this.#store.markActive(now);
    this.#sockets.broadcast({ type: "left", user: left.user });
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
    if (code === "internal") return;
    const now = Date.now();
    if (takeToken(this.#budgetsOf(ws, now).refusals, this.#refusalBudget, now)) return;
    const { burst } = this.#refusalBudget;
    log("too_many_errors", { room: this.#logName, user: this.#sockets.state(ws).user?.id });
    this.#sockets.send(ws, {
      type: "error",
      code: "too_many_errors",
      message: `This connection sent ${burst} refused frames in a row, so it is closed. Fix what the errors said, then connect again.`,
    });
    this.#sockets.close(ws, CLOSE_POLICY_VIOLATION, "too many errors");
    this.#leave(ws, CLOSE_POLICY_VIOLATION);
  }

  #budgetsOf(ws: WebSocket, now: number): { frames: Bucket; refusals: Bucket } {
    let budgets = this.#budgets.get(ws);
    if (budgets === undefined) {
      budgets = { frames: fullBucket(this.#frameBudget, now), refusals: fullBucket(this.#refusalBudget, now) };
      this.#budgets.set(ws, budgets);
    }
    return budgets;
  }
}
