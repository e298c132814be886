/**
 * Who runs the room, one feature module of the room (room.ts dispatches
 * here): the owner key, given once to whoever creates or claims the room
 * and stored only as a hash; the roles (owner > moderator > member), which
 * belong to an identity and so survive reconnects and the room's eviction;
 * and the owner's appointing and removing of moderators.
 */
import { newOwnerKey } from "./ids";
import { log } from "./log";
import type { RoomParts } from "./room-parts";
import { hashSecret } from "./storage";
import type { Role, RoleFrame, User } from "../shared/protocol";

/** How much each role may do: one acts only on those ranked below. */
const RANK: Record<Role, number> = { member: 0, moderator: 1, owner: 2 };

/** A user object as frames carry it: `role` only when it is not "member". */
export function withRole(user: User, role: Role): User {
  return role === "member" ? { id: user.id, nick: user.nick } : { id: user.id, nick: user.nick, role };
}

export const roleOf = (user: User): Role => user.role ?? "member";

export class Moderation {
  readonly #room: RoomParts;

  constructor(room: RoomParts) {
    this.#room = room;
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
    if (RANK[roleOf(user)] >= RANK[roleOf(by)]) {
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
    sockets.broadcast({ type: "role", user: changed, by });
  }
}
