/**
 * Who is in the room and who is typing, as both clients keep it: the roster
 * from welcome, joined, left and renamed; typing notices going out, at most
 * as often as the room relays them; and who is typing now, for a client that
 * shows it. Data and timers only: each view renders them its own way.
 */
import type { ClientFrame, ServerFrame, User } from "../shared/protocol";

/** The people in the room, by id, from the frames that change who is here. */
export class Roster {
  readonly #members = new Map<string, User>();

  /** Follows a frame from the room: true when it changed who is here or their names. */
  apply(frame: ServerFrame): boolean {
    switch (frame.type) {
      case "welcome":
        this.#members.clear();
        for (const user of frame.users) this.#members.set(user.id, user);
        return true;
      case "joined":
      case "renamed":
      case "role":
        this.#members.set(frame.user.id, frame.user);
        return true;
      case "left":
        return this.#members.delete(frame.user.id);
      default:
        return false;
    }
  }

  get size(): number {
    return this.#members.size;
  }

  get(id: string): User | undefined {
    return this.#members.get(id);
  }

  /** Everyone, by nickname (the order both clients list them in). */
  sorted(): User[] {
    return [...this.#members.values()].sort((a, b) => a.nick.localeCompare(b.nick));
  }
}

/** Our typing notices: one when a line starts and then at most one per the
 * room's interval, none for an empty line or a command. */
export class TypingSender {
  readonly #send: (frame: ClientFrame) => boolean;
  #sentAt = -Infinity;

  constructor(send: (frame: ClientFrame) => boolean) {
    this.#send = send;
  }

  /** The line being typed changed. `intervalMs` is the room's (welcome.limits):
   * before a welcome there is none, and nothing to tell anyone. */
  typed(line: string, intervalMs: number | undefined, now = Date.now()): void {
    const text = line.trim();
    if (intervalMs === undefined || text === "" || text.startsWith("/") || now - this.#sentAt < intervalMs) return;
    if (this.#send({ type: "typing" })) this.#sentAt = now;
  }

  /** The line was sent: the next one may say so at once. */
  lineSent(): void {
    this.#sentAt = -Infinity;
  }
}

/** How long "X is typing…" stays after X's last notice (the room relays one
 * at most every 2 s while X types). */
export const TYPING_SHOWN_MS = 3_000;

/** Who is typing now: each person from their notice until their message,
 * their departure, or TYPING_SHOWN_MS of silence. */
export class Typists {
  readonly #typing = new Map<string, { nick: string; timer: ReturnType<typeof setTimeout> }>();
  readonly #changed: () => void;

  constructor(changed: () => void) {
    this.#changed = changed;
  }

  /** Follows a frame from the room; `me` is our own id (never shown typing). */
  apply(frame: ServerFrame, me: string | undefined): void {
    switch (frame.type) {
      case "typing":
        if (frame.user.id !== me) this.#start(frame.user);
        return;
      case "message":
        return this.#stop(frame.from.id);
      case "left":
        return this.#stop(frame.user.id);
      case "renamed": {
        const typist = this.#typing.get(frame.user.id);
        if (typist === undefined) return;
        typist.nick = frame.user.nick;
        return this.#changed();
      }
      case "welcome":
        return this.clear();
    }
  }

  /** Nobody is typing (a new welcome: the notices before it are stale). */
  clear(): void {
    if (this.#typing.size === 0) return;
    for (const typist of this.#typing.values()) clearTimeout(typist.timer);
    this.#typing.clear();
    this.#changed();
  }

  /** The names, in the order they started typing. */
  get nicks(): string[] {
    return [...this.#typing.values()].map((typist) => typist.nick);
  }

  /** "Ana is typing…", "Ana and Bo are typing…", "3 people are typing…", or "". */
  get line(): string {
    const nicks = this.nicks;
    if (nicks.length === 0) return "";
    if (nicks.length === 1) return `${nicks[0]} is typing…`;
    if (nicks.length === 2) return `${nicks[0]} and ${nicks[1]} are typing…`;
    return `${nicks.length} people are typing…`;
  }

  #start(user: User): void {
    clearTimeout(this.#typing.get(user.id)?.timer);
    this.#typing.set(user.id, { nick: user.nick, timer: setTimeout(() => this.#stop(user.id), TYPING_SHOWN_MS) });
    this.#changed();
  }

  #stop(id: string): void {
    const typist = this.#typing.get(id);
    if (typist === undefined) return;
    clearTimeout(typist.timer);
    this.#typing.delete(id);
    this.#changed();
  }
}
