/**
 * Who runs the room, one feature module of the room (room.ts dispatches
 * here): the owner key, given once to whoever creates or claims the room
 * and stored only as a hash; the roles (owner > moderator > member), which
 * belong to an identity and so survive reconnects and the room's eviction;
 * the owner's appointing and removing of moderators; and removing people:
 * kicks (back after KICK_COOLDOWN_SECONDS) and bans (until a time, or for
 * good), each keeping out the identity and its address (IPv6 by /64).
 */
import { newBanId, newOwnerKey } from "./ids";
import { log } from "./log";
import type { RoomParts } from "./room-parts";
import { hashSecret, type BanRow, type StoredMessage } from "./storage";
import {
  isStaff,
  outranks,
  roleOf,
  type BanEntry,
  type BanFrame,
  type BansFrame,
  type ErrorCode,
  type KickFrame,
  type KickedFrame,
  type ModlogEntry,
  type Removal,
  type Role,
  type RoleFrame,
  type RoomSettings,
  type SettingsFrame,
  type User,
} from "../shared/protocol";

/** A user object as frames carry it: `role` only when it is not "member". */
export function withRole(user: User, role: Role): User {
  return role === "member" ? { id: user.id, nick: user.nick } : { id: user.id, nick: user.nick, role };
}

/** Staff's role in a sentence: "an owner", "a moderator". */
const roleName = (user: User): string => (roleOf(user) === "owner" ? "an owner" : "a moderator");

/** "until 2 Dec 2026, 11:50 UTC", or "for good". */
function untilText(until: number | null): string {
  if (until === null) return "for good";
  const date = new Date(until);
  const day = date.toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
  const time = date.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: "UTC" });
  return `until ${day}, ${time} UTC`;
}

/** A refusal of slow mode: what to tell, and when to try again. */
export interface SlowMode {
  message: string;
  retryAfterSeconds: number;
}

export class Moderation {
  readonly #room: RoomParts;
  /** The room's settings, read once per object start (the message path checks slow mode). */
  #settings: RoomSettings | null = null;
  /** When each member (by user id) last had a message accepted, for slow mode. In
   * memory: a room that restarts forgets it, and its members get one message early. */
  readonly #lastMessageAt = new Map<string, number>();
  /** Takes someone out of the room: tells them `told`, closes their socket
   * (4003), tells everyone else they left (with `announced`, when they were
   * the one removed; presence.ts). */
  readonly #remove: (ws: WebSocket, told: KickedFrame, announced?: Removal) => void;

  constructor(room: RoomParts, remove: (ws: WebSocket, told: KickedFrame, announced?: Removal) => void) {
    this.#room = room;
    this.#remove = remove;
  }

  /** Gives the room an owner: the key, to be shown once, or null when the
   * room already has one. The room counts as used from now on (a room
   * nobody then joins is deleted after ROOM_EXPIRY_DAYS, key and all). */
  claim(now: number): string | null {
    const { store, rules, logName } = this.#room;
    if (store.ownerKeyHash !== null) return null;
    const key = newOwnerKey();
    store.setOwnerKeyHash(hashSecret(key));
    store.markActive(now);
    if (rules.expiryMs > 0) this.#room.armAlarm(now + rules.expiryMs);
    log("room_claimed", { room: logName });
    return key;
  }

  /** The role an identity joins with: the owner's when it brings the right
   * key (it keeps it from then on), else what it had; null for a wrong key. */
  roleOnJoin(userId: string, ownerKey: string | undefined): Role | null {
    const { store } = this.#room;
    if (ownerKey !== undefined) {
      const expected = store.ownerKeyHash;
      if (expected === null || hashSecret(ownerKey) !== expected) return null;
      store.setRole(userId, "owner");
      return "owner";
    }
    return store.roleOf(userId);
  }

  get settings(): RoomSettings {
    this.#settings ??= this.#room.store.settings;
    return this.#settings;
  }

  /** `settings`: a moderator changes some of the room's settings; everyone hears all of them. */
  changeSettings(ws: WebSocket, by: User, frame: SettingsFrame): void {
    if (!isStaff(by)) {
      return this.#room.refuse(ws, "forbidden", "Only moderators and the owner change the room's settings.");
    }
    const { type: _, ...changes } = frame;
    const settings: RoomSettings = { ...this.settings, ...changes };
    this.#room.store.saveSettings(settings);
    this.#settings = settings;
    const changed = Object.keys(changes).join(",");
    log("settings", { room: this.#room.logName, by: by.id, changed });
    this.#record({ at: Date.now(), action: "settings", by, detail: JSON.stringify(changes) });
    this.#room.sockets.broadcast({ type: "settings", settings, by });
  }

  /** A locked room lets in only identities that have been in it (`known`), and staff. */
  lockedOut(role: Role, known: boolean): string | null {
    if (!this.settings.locked || known || role !== "member") return null;
    return "This room is locked: only people who have been in it before can join. Ask a moderator to unlock it.";
  }

  /** Slow mode: why this member may not post now (a message, or a file,
   * which is a message too) and in how many seconds they may, or null (and
   * what they post counts from now). Moderators and the owner are exempt. */
  slowMode(user: User, now: number): SlowMode | null {
    const seconds = this.settings.slowModeSeconds;
    if (seconds === 0 || roleOf(user) !== "member") return null;
    const last = this.#lastMessageAt.get(user.id);
    if (last !== undefined && now - last < seconds * 1000) {
      const wait = Math.ceil((last + seconds * 1000 - now) / 1000);
      return {
        message: `Slow mode: one message every ${seconds} s in this room. Try again in ${wait} s.`,
        retryAfterSeconds: wait,
      };
    }
    this.#lastMessageAt.set(user.id, now);
    return null;
  }

  /** Why not, when the room's settings keep files or calls off. */
  offRefusal(feature: "files" | "calls"): string | null {
    if (this.settings[feature]) return null;
    return feature === "files"
      ? "Sharing files is turned off in this room by its moderators."
      : "Calls are turned off in this room by its moderators.";
  }

  /** Why this identity or address may not come in now, if it may not: the
   * one removed is told by whom and why; anyone else from the address only
   * that someone on their network was, and until when it is kept out. */
  barred(userId: string, address: string | null, now: number): { code: ErrorCode; message: string } | null {
    const ban = this.#room.store.barring(userId, address, now);
    if (ban === null) return null;
    const code = ban.kind === "kick" ? "kicked" : "banned";
    const seconds = Math.max(1, Math.ceil(((ban.until ?? now) - now) / 1000));
    if (ban.user.id !== userId) {
      const when = ban.kind === "kick" ? `for ${seconds} s more` : untilText(ban.until);
      return {
        code,
        message: `Someone using your network (your address) was removed from this room, so it is kept out ${when}. If that was not you, a moderator can lift it.`,
      };
    }
    const why = ban.reason === null ? "" : ` (${ban.reason})`;
    if (ban.kind === "kick") {
      return {
        code,
        message: `You were removed from this room by ${ban.by.nick}${why}; you can come back in ${seconds} s.`,
      };
    }
    return { code, message: `You are banned from this room ${untilText(ban.until)}, by ${ban.by.nick}${why}.` };
  }

  /**
   * `kick` and `ban`: a moderator (or the owner) removes someone of a lower
   * role, and keeps out their identity and their address. Everyone else
   * joined from that address who is not staff goes too (the address's ban
   * would keep them out at their next join anyway): each is told the truth,
   * that someone on their network was removed; the room sees them leave.
   */
  remove(ws: WebSocket, by: User, frame: KickFrame | BanFrame, now: number): void {
    const { sockets, store, config, logName } = this.#room;
    const target = this.#target(ws, by, frame.user, frame.type === "kick" ? "kick" : "ban");
    if (target === null) return;
    const { socket, user } = target;
    const ban = frame.type === "ban";
    const until = ban
      ? frame.minutes === undefined
        ? null
        : now + frame.minutes * 60_000
      : now + config.kickCooldownSeconds * 1000;
    if (ban || config.kickCooldownSeconds > 0) {
      const row: BanRow = {
        id: newBanId(),
        kind: ban ? "ban" : "kick",
        user: { id: user.id, nick: user.nick },
        address: sockets.state(socket).ip,
        by: { id: by.id, nick: by.nick },
        reason: frame.reason ?? null,
        until,
      };
      store.addBan(row, now);
    }
    const removal: Removal = { by };
    if (frame.reason !== undefined) removal.reason = frame.reason;
    if (ban) removal.until = until;
    // When they may come back (a kick without a cool-down: now).
    const backAt = ban || config.kickCooldownSeconds > 0 ? until : now;
    log(ban ? "ban" : "kick", {
      room: logName,
      user: user.id,
      by: by.id,
      until: ban ? (until ?? "forever") : undefined,
    });
    const entry: ModlogEntry = { at: now, action: ban ? "ban" : "kick", by, target: user };
    if (frame.reason !== undefined) entry.reason = frame.reason;
    if (ban) entry.detail = until === null ? "for good" : `until ${new Date(until).toISOString()}`;
    this.#record(entry);
    this.#remove(socket, { type: "kicked", ...removal, backAt }, removal);
    const address = sockets.state(socket).ip;
    if (address === null || backAt === now) return;
    for (const other of sockets.memberSockets()) {
      const state = sockets.state(other);
      if (state.ip !== address || state.user === null || roleOf(state.user) !== "member") continue;
      log(ban ? "ban" : "kick", { room: logName, user: state.user.id, by: by.id, network: true });
      this.#remove(other, { type: "kicked", by, backAt, network: true });
    }
  }

  /**
   * `rotate`: the owner replaces the owner key (a link leaked, a device was
   * lost). The old key makes no one an owner any more, and every other
   * identity that became owner with it is a member from now on (everyone is
   * told, as for any role change). The new key goes to the asker alone.
   */
  rotate(ws: WebSocket, by: User, now: number): void {
    const { store, sockets, logName } = this.#room;
    if (roleOf(by) !== "owner") return this.#room.refuse(ws, "forbidden", "Only the room's owner replaces its key.");
    const key = newOwnerKey();
    store.setOwnerKeyHash(hashSecret(key));
    sockets.send(ws, { type: "rotated", ownerKey: key });
    for (const id of store.owners()) {
      if (id === by.id) continue;
      store.setRole(id, "member");
      const socket = sockets.findByUserId(id);
      const user = socket === undefined ? null : sockets.state(socket).user;
      if (socket === undefined || user === null) continue;
      const changed = withRole(user, "member");
      sockets.update(socket, changed);
      sockets.broadcast({ type: "role", user: changed, by });
    }
    log("role", { room: logName, by: by.id, role: "owner key rotated" });
    this.#record({ at: now, action: "rotate", by });
  }

  /**
   * May `by` delete this message? Their own, always; someone else's, only a
   * moderator (or the owner) of a higher role than its sender has now. Says
   * why not (refused), or records a moderator's deletion in the log.
   */
  mayDelete(ws: WebSocket, by: User, message: StoredMessage, now: number): boolean {
    if (message.from.id === by.id) return true;
    if (!isStaff(by)) {
      this.#room.refuse(ws, "forbidden", "You can delete your own messages; only moderators delete other people's.");
      return false;
    }
    const author = withRole(message.from, this.#room.store.roleOf(message.from.id));
    if (!outranks(by, author)) {
      const role = roleName(author);
      this.#room.refuse(
        ws,
        "forbidden",
        `That message is by ${author.nick}, ${role}: you can only delete messages of people below you.`,
      );
      return false;
    }
    this.#record({ at: now, action: "delete", by, target: author, detail: String(message.id) });
    return true;
  }

  /** May `by` clear the whole history? The owner only (recorded in the log). */
  mayClear(ws: WebSocket, by: User, now: number): boolean {
    if (roleOf(by) !== "owner") {
      this.#room.refuse(ws, "forbidden", "Only the room's owner clears its history.");
      return false;
    }
    this.#record({ at: now, action: "clear", by });
    return true;
  }

  /** `modlog`: the last actions, newest first, to a moderator. */
  modlog(ws: WebSocket, by: User): void {
    if (!isStaff(by)) {
      return this.#room.refuse(ws, "forbidden", "Only moderators and the owner read the moderation log.");
    }
    this.#room.sockets.send(ws, { type: "modlog", entries: this.#room.store.moderationLog() });
  }

  /** One line in the moderation log (who and whom by id and nickname, no role). */
  #record(entry: ModlogEntry): void {
    const plain = (user: User): User => ({ id: user.id, nick: user.nick });
    const kept: ModlogEntry = { ...entry, by: plain(entry.by) };
    if (entry.target !== undefined) kept.target = plain(entry.target);
    this.#room.store.logModeration(kept);
  }

  /** `bans`: the bans in force, to a moderator. */
  bans(ws: WebSocket, by: User, now: number): void {
    if (!isStaff(by)) {
      return this.#room.refuse(ws, "forbidden", "Only moderators and the owner see the room's bans.");
    }
    this.#room.sockets.send(ws, this.#bansFrame(now));
  }

  /** `unban`: a moderator lifts a ban; they get the bans left. */
  unban(ws: WebSocket, by: User, id: string, now: number): void {
    const { store, sockets, logName } = this.#room;
    if (!isStaff(by)) {
      return this.#room.refuse(ws, "forbidden", "Only moderators and the owner lift bans.");
    }
    if (!store.removeBan(id, now)) {
      return this.#room.refuse(ws, "not_found", `There is no ban "${id}" in force (it may have ended).`);
    }
    log("unban", { room: logName, ban: id, by: by.id });
    this.#record({ at: now, action: "unban", by, detail: id });
    sockets.send(ws, this.#bansFrame(now));
  }

  #bansFrame(now: number): BansFrame {
    const bans = this.#room.store.bans(now).map((row) => {
      const entry: BanEntry = { id: row.id, user: row.user, by: row.by, until: row.until };
      if (row.reason !== null) entry.reason = row.reason;
      return entry;
    });
    return { type: "bans", bans };
  }

  /** Someone in the room whom `by` may act on, or null (refused, said why). */
  #target(ws: WebSocket, by: User, id: string, what: string): { socket: WebSocket; user: User } | null {
    const { sockets } = this.#room;
    if (!isStaff(by)) {
      this.#room.refuse(ws, "forbidden", `Only moderators and the owner may ${what} people.`);
      return null;
    }
    const socket = sockets.findByUserId(id);
    const user = socket === undefined ? null : sockets.state(socket).user;
    if (socket === undefined || user === null) {
      this.#room.refuse(ws, "not_found", `There is no one with the id "${id}" in the room.`);
      return null;
    }
    if (!outranks(by, user)) {
      const role = roleName(user);
      this.#room.refuse(ws, "forbidden", `${user.nick} is ${role}: you can only ${what} people below you.`);
      return null;
    }
    return { socket, user };
  }

  /** `{"type":"role"}`: the owner makes someone in the room a moderator, or a member again. */
  setRole(ws: WebSocket, by: User, frame: RoleFrame): void {
    const { sockets, store, logName } = this.#room;
    if (roleOf(by) !== "owner") {
      return this.#room.refuse(ws, "forbidden", "Only the room's owner appoints and removes moderators.");
    }
    const target = sockets.findByUserId(frame.user);
    const user = target === undefined ? null : sockets.state(target).user;
    if (target === undefined || user === null) {
      return this.#room.refuse(ws, "not_found", `There is no one with the id "${frame.user}" in the room.`);
    }
    if (!outranks(by, user)) {
      return this.#room.refuse(
        ws,
        "forbidden",
        `${user.nick} is an owner too: owners cannot change each other's role.`,
      );
    }
    const changed = withRole(user, frame.role);
    store.setRole(user.id, frame.role);
    sockets.update(target, changed);
    log("role", { room: logName, user: user.id, role: frame.role, by: by.id });
    this.#record({ at: Date.now(), action: "role", by, target: user, detail: frame.role });
    sockets.broadcast({ type: "role", user: changed, by });
  }
}
