/**
 * Who is in the room's call, as both clients keep it: from the welcome's
 * `call.members`, `call` frames (joining, changing what one sends, leaving),
 * `left` (a socket gone takes its call along) and `renamed`. The page adds
 * WebRTC on top (src/page/call.ts); the terminal only says who comes and goes.
 */
import type { CallState, ServerFrame, User } from "../shared/protocol";

export interface CallMember {
  user: User;
  state: CallState;
}

/** What a frame changed in the call, for a line such as "Ana joined the call". */
export type CallChange = { kind: "joined" | "left" | "changed"; user: User } | null;

export class CallMembers {
  readonly #members = new Map<string, CallMember>();

  /** Follows a frame from the room; says who joined, changed or left by a `call` frame. */
  apply(frame: ServerFrame): CallChange {
    switch (frame.type) {
      case "welcome":
        this.#members.clear();
        for (const member of frame.call?.members ?? []) this.#members.set(member.user.id, member);
        return null;
      case "call": {
        const { user, state } = frame;
        const was = this.#members.has(user.id);
        if (state === null) return this.#members.delete(user.id) ? { kind: "left", user } : null;
        this.#members.set(user.id, { user, state });
        return { kind: was ? "changed" : "joined", user };
      }
      case "left":
        // Left the room: out of the call without a line of its own ("Ana left" says it).
        this.#members.delete(frame.user.id);
        return null;
      case "renamed":
      case "role": {
        const member = this.#members.get(frame.user.id);
        if (member !== undefined) member.user = frame.user;
        return null;
      }
      default:
        return null;
    }
  }

  get(id: string): CallMember | undefined {
    return this.#members.get(id);
  }

  /** Everyone in the call, in the order they joined it. */
  values(): IterableIterator<CallMember> {
    return this.#members.values();
  }

  /** How many are in the call besides `me`. */
  others(me: string | undefined): number {
    return this.#members.size - (me !== undefined && this.#members.has(me) ? 1 : 0);
  }
}
