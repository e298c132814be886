/**
 * Who is in the room, one feature module of the room (room.ts dispatches
 * here): letting sockets in (or not: a full room, too many from one
 * address), the join and its deadline, taking an identity back (a session
 * token, a take-over of a half-open socket), renames, typing notices,
 * leaving, and members gone silent.
 */
import type { Chat } from "./chat";
import { sendNow, type SocketState } from "./connections";
import { newSessionToken, newUserId } from "./ids";
import type { SocketLimits } from "./limits";
import { log } from "./log";
import { withRole, type Moderation } from "./moderation";
import type { RoomParts } from "./room-parts";
import { hashSecret } from "./storage";
import {
  CLOSE_PING_TIMEOUT,
  CLOSE_POLICY_VIOLATION,
  CLOSE_SESSION_TAKEN_OVER,
  type ErrorCode,
  type JoinFrame,
  type NickFrame,
  type Removal,
  type User,
  type WelcomeFrame,
} from "../shared/protocol";

/** Accepts an upgrade only to refuse it in-band, so that the client can tell
 * a refusal from a network fault: one error frame, then close 1013 (try later). */
function refuseUpgrade(code: ErrorCode, message: string): Response {
  const { 0: client, 1: server } = new WebSocketPair();
  server.accept();
  sendNow(server, { type: "error", code, message });
  server.close(1013, code === "room_full" ? "Room is full" : "Too many connections");
  return new Response(null, { status: 101, webSocket: client });
}

export class Presence {
  readonly #room: RoomParts;
  readonly #chat: Chat;
  readonly #limits: SocketLimits;
  readonly #moderation: Moderation;
  /** When the runtime last answered a ping of this socket (without waking the room). */
  readonly #lastPinged: (ws: WebSocket) => Date | null;
  /** When each socket last sent a frame (in memory: after a wake-up, the
   * runtime's ping timestamps alone tell). */
  readonly #lastFrameAt = new WeakMap<WebSocket, number>();
  #lastSweep = 0;

  constructor(
    room: RoomParts,
    chat: Chat,
    limits: SocketLimits,
    moderation: Moderation,
    lastPinged: (ws: WebSocket) => Date | null,
  ) {
    this.#room = room;
    this.#chat = chat;
    this.#limits = limits;
    this.#moderation = moderation;
    this.#lastPinged = lastPinged;
  }

  /** A WebSocket upgrade from `ip` (null when per-address limits are off):
   * the socket, or an in-band refusal. */
  arrive(ip: string | null, now: number): Response {
    const { config, sockets, logName } = this.#room;
    const perAddress = config.maxConnectionsPerAddress;
    if (ip !== null && sockets.countFrom(ip) >= perAddress) {
      log("too_many_connections", { room: logName, connections: perAddress });
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
    const max = config.maxConnectionsPerRoom;
    if (sockets.openCount >= max) {
      const halfDeadline = config.joinTimeoutMs / 2;
      const settled = sockets.unjoined().filter((ws) => now - (sockets.state(ws).openedAt ?? 0) >= halfDeadline);
      if (sockets.memberCount + settled.length >= max) {
        const squatter = settled[0];
        if (squatter === undefined) {
          log("room_full", { room: logName, connections: sockets.openCount });
          return refuseUpgrade("room_full", `This room already has ${max} people; try again later.`);
        }
        this.#closeUnjoined(
          squatter,
          "The room is full and this connection had not joined, so it gave its place to someone else; connect again and join.",
        );
      }
    }
    this.sweep(now); // before a newcomer sees the roster
    const { 0: client, 1: server } = new WebSocketPair();
    const state: SocketState = {
      user: null,
      sessionHash: null,
      ip,
      openedAt: now,
      bucket: this.#limits.fullMessageRate(now),
      typingAt: 0,
    };
    sockets.accept(server, state);
    this.#room.armAlarm(now + config.joinTimeoutMs);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Closes the sockets that have not joined within JOIN_TIMEOUT_MS; returns
   * when the next of the others will be due. */
  closeLate(now: number): number | null {
    const { sockets, config } = this.#room;
    const timeout = config.joinTimeoutMs;
    for (const ws of sockets.unjoined()) {
      const due = (sockets.state(ws).openedAt ?? 0) + timeout;
      if (due > now) return due;
      this.#closeUnjoined(
        ws,
        `Join within ${timeout / 1000} s of connecting: send {"type":"join","nick":"your name"}. Connect again to join.`,
      );
    }
    return null;
  }

  /** Closes a socket that never joined, saying why (close 1008). */
  #closeUnjoined(ws: WebSocket, why: string): void {
    this.#room.sockets.send(ws, { type: "error", code: "not_joined", message: why });
    this.#room.sockets.close(ws, CLOSE_POLICY_VIOLATION, "not joined");
  }

  join(ws: WebSocket, state: SocketState, frame: JoinFrame, now: number): void {
    const { sockets, rules, logName } = this.#room;
    if (state.user !== null) {
      return this.#room.refuse(
        ws,
        "already_joined",
        "This connection has already joined; send a nick frame to rename.",
      );
    }
    const ttlMs = rules.sessionTtlMs;
    const claimed = frame.session === undefined ? null : { token: frame.session, tokenHash: hashSecret(frame.session) };
    // A session is valid for SESSION_TTL_HOURS after its last use, and for as
    // long as a socket holds it: someone connected for days keeps who they are.
    const store = this.#room.store;
    const saved =
      claimed === null
        ? null
        : (store.findSession(claimed.tokenHash, now, ttlMs) ?? sockets.findBySession(claimed.tokenHash)?.user ?? null);
    let identity: { user: User; token: string; tokenHash: string };
    // A socket still open under this identity: a half-open connection from
    // before the client's reconnect, to be replaced without any notice.
    let previous: WebSocket | undefined;

    if (claimed !== null && saved !== null) {
      previous = sockets.findByUserId(saved.id);
      const holder = sockets.findByNick(saved.nick);
      if (holder !== undefined && holder !== previous) {
        return this.#room.refuse(
          ws,
          "nick_taken",
          `Someone else is "${saved.nick}" in this room now; join with another nickname and no session.`,
        );
      }
      identity = { user: saved, ...claimed };
    } else {
      // No session, or an unknown or expired one: a new identity.
      if (sockets.findByNick(frame.nick) !== undefined) {
        return this.#room.refuse(ws, "nick_taken", `"${frame.nick}" is already in this room; pick another nickname.`);
      }
      const token = newSessionToken();
      identity = { user: { id: newUserId(), nick: frame.nick }, token, tokenHash: hashSecret(token) };
    }

    // The owner key, if one came, is checked before anything changes.
    const role = this.#moderation.roleOnJoin(identity.user.id, frame.ownerKey);
    if (role === null) {
      return this.#room.refuse(
        ws,
        "bad_owner_key",
        "That is not this room's owner key: check the owner link, or join without it.",
      );
    }
    // Someone kicked (for a while) or banned stays out, under any name. A
    // moderator or the owner never does: behind one address with the one
    // banned (an office, a carrier's NAT, everyone on localhost), they must
    // still be able to come in and lift the ban.
    const barred = role === "member" ? this.#moderation.barred(identity.user.id, state.ip, now) : null;
    if (barred !== null) return this.#room.refuse(ws, barred.code, barred.message);
    // A locked room lets in only identities it knows (a valid session).
    const locked = this.#moderation.lockedOut(role, saved !== null);
    if (locked !== null) return this.#room.refuse(ws, "locked", locked);
    const { token, tokenHash } = identity;
    const user = withRole(identity.user, role);
    if (previous !== undefined) {
      log("take_over", { room: logName, user: user.id });
      // The call goes on over the new socket: nobody is told anything.
      const call = sockets.state(previous).call ?? null;
      if (call !== null) {
        state.call = call;
        sockets.save(ws, state);
      }
      sockets.leave(previous);
      sockets.close(previous, CLOSE_SESSION_TAKEN_OVER, "session taken over");
    }
    store.saveSession(tokenHash, user, now, ttlMs);
    store.markActive(now);
    sockets.join(ws, user, tokenHash);
    if (rules.expiryMs > 0) this.#room.armAlarm(now + rules.expiryMs);

    const history = this.#chat.historyOnJoin(frame.since, user);
    const { config } = this.#room;
    const welcome: WelcomeFrame = {
      type: "welcome",
      room: this.#room.name,
      you: user,
      session: token,
      users: sockets.users,
      history: history.entries,
      limits: rules.roomLimits,
      call: {
        members: sockets.callMembers(),
        maxParticipants: config.maxCallParticipants,
        iceServers: [...config.iceServers],
      },
      settings: this.#moderation.settings,
    };
    if (history.truncated) welcome.truncated = true;
    this.#room.reads.spend(sockets.send(ws, welcome));
    if (previous === undefined) sockets.broadcast({ type: "joined", user }, ws);
    log("join", { room: logName, user: user.id, resumed: frame.since !== undefined, online: sockets.memberCount });
  }

  rename(ws: WebSocket, state: SocketState, user: User, frame: NickFrame, now: number): void {
    const { sockets, store, rules } = this.#room;
    const holder = sockets.findByNick(frame.nick);
    if (holder !== undefined && holder !== ws) {
      const message = `"${frame.nick}" is already in this room; pick another nickname.`;
      return this.#room.refuse(ws, "nick_taken", message, frame.cid);
    }
    if (frame.nick === user.nick) {
      // Nothing changes: confirm to the sender alone rather than tell everyone.
      sockets.send(ws, { type: "renamed", user, from: user.nick });
      return;
    }
    // The same person under another name: the role goes with them.
    const renamed: User = { ...user, nick: frame.nick };
    sockets.update(ws, renamed);
    if (state.sessionHash !== null) store.saveSession(state.sessionHash, renamed, now, rules.sessionTtlMs);
    sockets.broadcast({ type: "renamed", user: renamed, from: user.nick });
  }

  /** "X is typing", relayed at most once per TYPING_INTERVAL_MS per person; more are dropped silently. */
  typing(ws: WebSocket, state: SocketState, user: User, now: number): void {
    const { sockets, config } = this.#room;
    if (now - state.typingAt < config.typingIntervalMs) return;
    state.typingAt = now;
    sockets.save(ws, state);
    sockets.broadcast({ type: "typing", user }, ws);
  }

  /** A frame came from `ws`: it is alive. Also the moment to look for members gone silent. */
  heard(ws: WebSocket, now: number): void {
    this.#lastFrameAt.set(ws, now);
    this.sweep(now);
  }

  /**
   * Drops members whose client pings (every 30 s for ours) but has gone
   * silent: a laptop that slept, a phone that lost its network, leaving a
   * half-open socket the runtime may not notice for a long time. Checked
   * only while the room is busy anyway (frames, upgrades), at most every
   * third of the timeout, so that no timer wakes an idle room; a newcomer
   * always gets a fresh check before it sees the roster.
   */
  sweep(now: number): void {
    const timeout = this.#room.config.pingTimeoutMs;
    if (timeout === 0 || now - this.#lastSweep < timeout / 3) return;
    this.#lastSweep = now;
    for (const ws of this.#room.sockets.memberSockets()) {
      const pinged = this.#lastPinged(ws);
      if (pinged === null) continue; // a client that never pings makes no promise to
      const lastHeard = Math.max(pinged.getTime(), this.#lastFrameAt.get(ws) ?? 0);
      if (now - lastHeard <= timeout) continue;
      this.#room.sockets.close(ws, CLOSE_PING_TIMEOUT, "ping timeout");
      this.leave(ws, CLOSE_PING_TIMEOUT);
    }
  }

  /** A socket is gone (closed, failed, or closed by the room; `kicked`: by
   * a moderator): the others are told. */
  leave(ws: WebSocket, code?: number, kicked?: Removal): void {
    const { sockets, logName } = this.#room;
    const left = sockets.leave(ws);
    if (left === null) return;
    log("leave", { room: logName, user: left.user.id, code, online: sockets.memberCount });
    const now = Date.now();
    // Only now the store (a getter that opens it): a socket that never
    // joined leaves nothing behind, not even an empty database.
    const store = this.#room.store;
    store.touchSession(left.sessionHash, now);
    store.markActive(now);
    sockets.broadcast(
      kicked === undefined ? { type: "left", user: left.user } : { type: "left", user: left.user, kicked },
    );
  }
}
