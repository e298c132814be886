/**
 * The outbox of both clients, the page and the terminal: own messages and
 * renames from the moment they are typed (or piped) until the room confirms
 * them, in order, paced under the room's rate limit with the token bucket
 * the server itself uses (src/shared/rate-limit.ts).
 *
 * Renames go through the same queue as messages so that "/nick Bo" followed
 * by "hello" reaches the room in that order. Confirmation: a message by the
 * echo carrying its cid; a rename by the `renamed` frame about us, or by the
 * welcome of a reconnect that already carries the new name. A refusal of
 * either carries the cid it refuses.
 *
 * After a reconnect, whatever was written but not confirmed is written
 * again: the welcome's history (all messages since the last one seen) has
 * already confirmed those that got through, so nothing arrives twice.
 */
import { parseClientFrame, type ClientFrame, type FrameLimits, type RoomLimits } from "../shared/protocol";
import { clientPace, fullBucket, msUntilToken, spendToken, type Bucket, type BucketLimits } from "../shared/rate-limit";

export type Outgoing =
  | { kind: "message"; cid: string; text: string; action: boolean; replyTo?: number; sent: boolean }
  | { kind: "nick"; cid: string; nick: string; sent: boolean }
  /** A moderator's frame (kick, settings…): in order with the rest, and done
   * once written (the room's answer is a notice to everyone, or an error). */
  | { kind: "command"; cid: string; frame: ClientFrame; sent: boolean };

/** The longest the queue waits for a token before looking again. */
const MAX_WAIT_MS = 30_000;

export class Outbox {
  readonly #send: (frame: ClientFrame) => boolean;
  readonly #refuse: (item: Outgoing, reason: string) => void;
  /** The room's limits on what we write, from its welcome. */
  #limits: FrameLimits | null = null;
  readonly #items: Outgoing[] = [];
  /** Random, so that two clients of one person never share a cid (from
   * getRandomValues, which pages served over plain http have too). */
  readonly #cidPrefix = Array.from(crypto.getRandomValues(new Uint8Array(4)), (byte) =>
    byte.toString(16).padStart(2, "0"),
  ).join("");
  #counter = 0;
  #pace: BucketLimits | null = null;
  #bucket: Bucket = { tokens: 0, at: 0 };
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Frames may go out: between a welcome and the next disconnect. */
  #open = false;
  /** Why nothing will ever go out again (a moderator removed us), once so. */
  #closed: string | null = null;

  /**
   * `send` writes a frame to the connection, false when it cannot now.
   * `refuse` hears of an item the room would refuse (too long, say): it is
   * checked against the room's limits with the room's own parser, taken out,
   * and nothing after it is written in that pass, so a pipe can stop there.
   */
  constructor(send: (frame: ClientFrame) => boolean, refuse: (item: Outgoing, reason: string) => void) {
    this.#send = send;
    this.#refuse = refuse;
  }

  get size(): number {
    return this.#items.length;
  }

  /** A cid no message of this outbox has had: for a view that shows the
   * message before handing it over. */
  newCid(): string {
    return `${this.#cidPrefix}-${++this.#counter}`;
  }

  /** Queues a message (a retry keeps its first cid), and sends what it can. */
  message(text: string, action: boolean, cid = this.newCid(), replyTo?: number): void {
    const item: Outgoing = { kind: "message", cid, text, action, sent: false };
    if (replyTo !== undefined) item.replyTo = replyTo;
    this.#add(item);
  }

  /** Queues a frame that needs no confirmation, in order with messages and renames. */
  command(frame: ClientFrame): void {
    this.#add({ kind: "command", cid: this.newCid(), frame, sent: false });
  }

  rename(nick: string): void {
    this.#add({ kind: "nick", cid: this.newCid(), nick, sent: false });
  }

  #add(item: Outgoing): void {
    if (this.#closed !== null) return this.#refuse(item, this.#closed);
    this.#items.push(item);
    this.pump();
  }

  /** Nothing will go out again (a moderator removed us): everything waiting,
   * and everything written from now on, is refused with `reason`. */
  close(reason: string): void {
    this.stop();
    this.#closed = reason;
    for (const item of this.#items.splice(0)) this.#refuse(item, reason);
  }

  /**
   * A (re)join: the room's pace, a full bucket, and everything not yet
   * confirmed written again. Call it after the welcome's history went
   * through confirm(), and with the name the room gave us.
   */
  joined(limits: RoomLimits, nick: string): void {
    // A rename that went through while the confirmation was lost.
    // The room keeps a name as it was asked for (both clients send it parsed),
    // so the exact name tells; nickKey would weigh the page down with the
    // confusables table for this one comparison.
    this.#remove((item) => item.kind === "nick" && item.sent && item.nick === nick);
    for (const item of this.#items) item.sent = false;
    this.#pace = clientPace(limits);
    this.#limits = limits;
    if (this.#pace !== null) this.#bucket = fullBucket(this.#pace, Date.now());
    this.#open = true;
    this.pump();
  }

  /** The connection dropped: hold everything until the next welcome. */
  disconnected(): void {
    this.#open = false;
    clearTimeout(this.#timer);
  }

  /** The echo of one of ours: returns it, confirmed and out of the queue. */
  confirmMessage(cid: string): Outgoing | undefined {
    return this.#remove((item) => item.kind === "message" && item.cid === cid);
  }

  /** A `renamed` about us: confirms the oldest rename in flight. */
  confirmRename(): Outgoing | undefined {
    return this.#remove((item) => item.kind === "nick" && item.sent);
  }

  /** An error frame: the item it answers (by the cid the room echoes),
   * taken out of the queue. An error without a cid is about something else
   * (a page of history, the call), never about the queue. */
  refused(cid: string | undefined): Outgoing | undefined {
    return cid === undefined ? undefined : this.#remove((item) => item.cid === cid);
  }

  /** Everything written but unconfirmed, taken out (when the room cannot
   * tell whether it arrived: a resume whose history was cut short). */
  takeUnconfirmed(): Outgoing[] {
    const taken = this.#items.filter((item) => item.sent);
    this.#remove((item) => item.sent, true);
    return taken;
  }

  /** Writes what waits, in order, as fast as the bucket allows. */
  pump(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#open) return;
    for (let index = 0; index < this.#items.length; index++) {
      const item = this.#items[index]!;
      if (item.sent) continue;
      if (this.#pace !== null) {
        const now = Date.now();
        const wait = msUntilToken(this.#bucket, this.#pace, now);
        if (wait > 0) {
          this.#timer = setTimeout(() => this.pump(), Math.min(wait, MAX_WAIT_MS));
          return;
        }
        spendToken(this.#bucket, this.#pace, now);
      }
      const frame: ClientFrame =
        item.kind === "command"
          ? item.frame
          : item.kind === "nick"
            ? { type: "nick", nick: item.nick, cid: item.cid }
            : messageFrame(item);
      const parsed = this.#limits === null ? null : parseClientFrame(JSON.stringify(frame), this.#limits);
      if (parsed !== null && !parsed.ok) {
        this.#remove((other) => other === item);
        this.#refuse(item, parsed.message);
        return;
      }
      item.sent = this.#send(frame);
      if (!item.sent) return;
      // Written is done, for a command: nothing will confirm it.
      if (item.kind === "command") this.#items.splice(index--, 1);
    }
  }

  /** Takes a token for a frame sent outside the queue (a page of history),
   * going into debt if need be, so that the queue's pace allows for it. */
  spend(): void {
    if (this.#pace === null) return;
    spendToken(this.#bucket, this.#pace, Date.now());
  }

  /** Forgets everything not yet written (a pipe that stops at a refusal). */
  dropUnsent(): void {
    this.#remove((item) => !item.sent, true);
  }

  /** Clears the pacing timer, for a process about to exit. */
  stop(): void {
    this.#open = false;
    clearTimeout(this.#timer);
  }

  /** Removes the first item that matches (or all of them); returns the first. */
  #remove(match: (item: Outgoing) => boolean, all = false): Outgoing | undefined {
    let first: Outgoing | undefined;
    for (let i = 0; i < this.#items.length; i++) {
      const item = this.#items[i]!;
      if (!match(item)) continue;
      first ??= item;
      this.#items.splice(i--, 1);
      if (!all) break;
    }
    return first;
  }
}

/** The frame of one of our messages: an action, a reply, or plain. */
function messageFrame(item: Extract<Outgoing, { kind: "message" }>): ClientFrame {
  const frame: ClientFrame = { type: "message", text: item.text, cid: item.cid };
  if (item.action) frame.action = true;
  if (item.replyTo !== undefined) frame.replyTo = item.replyTo;
  return frame;
}
