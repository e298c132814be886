/**
 * What the room serves of its history to one person (search results,
 * scroll-back pages, who reacted, and the history in a welcome) is paid
 * from one budget, so that no one can take the room's time from everyone
 * else with it:
 *
 * - a read costs a unit for every READ_UNIT_BYTES it sends (at least one):
 *   a page of 256 KiB costs what eight pages of chat do, because it costs
 *   the room as much to read and send; a search, one more for every list
 *   of the index it walks (a word);
 * - the room spends at most ROOM_READS_PER_SECOND units a second
 *   (ROOM_READS_BURST at once), whoever asks;
 * - searches, pages and who-reacted lists wait their turn: each is answered
 *   in a turn of its own, after the frames already waiting (a zero
 *   timeout), so messages go first; whoever asks (an address, or a socket
 *   where addresses are not known) waits in a round, one answer each in
 *   turn, so that many sockets buy no more turns than one; an asker has
 *   at most READS_WAITING_EACH waiting, the room READS_WAITING, and beyond
 *   either a read is refused (`rate_limited`);
 * - a welcome cannot wait: its history is cut to what the budget holds
 *   (never under READ_FLOOR_BYTES), which a newcomer completes by
 *   scrolling back, and what it sends is owed by the reads that follow.
 *
 * A timer runs only while reads wait: an idle room sleeps.
 */
import { fullBucket, msUntilToken, spendToken, tokensNow, type Bucket, type BucketLimits } from "../shared/rate-limit";

/** What a unit of the budget buys, in bytes sent. */
export const READ_UNIT_BYTES = 32_768;
/** The least history a welcome carries, whatever the budget. */
export const READ_FLOOR_BYTES = 16_384;

/** Reads one asker may have waiting. */
export const READS_WAITING_EACH = 2;
/** Reads the room may have waiting, all askers together. */
export const READS_WAITING = 256;

/** Who waits in the round: an address, or a socket. */
export type Asker = string | WebSocket;

export class ReadQueue {
  readonly #rate: BucketLimits;
  readonly #bucket: Bucket;
  /** The reads waiting, by asker, in the round's order (a Map keeps insertion order). */
  readonly #waiting = new Map<Asker, (() => number)[]>();
  #count = 0;
  #scheduled = false;
  readonly #clock: () => number;
  readonly #later: (run: () => void, ms: number) => void;

  constructor(
    rate: BucketLimits,
    clock: () => number = Date.now,
    later: (run: () => void, ms: number) => void = (run, ms) => setTimeout(run, ms),
  ) {
    this.#rate = rate;
    this.#clock = clock;
    this.#later = later;
    this.#bucket = fullBucket(rate, clock());
  }

  /** How many reads are waiting. */
  get waiting(): number {
    return this.#count;
  }

  /** How many bytes of history a welcome may carry now: what the budget
   * holds, between READ_FLOOR_BYTES and `max`. */
  allowance(max: number): number {
    const tokens = tokensNow(this.#bucket, this.#rate, this.#clock());
    return Math.max(READ_FLOOR_BYTES, Math.min(max, Math.floor(tokens) * READ_UNIT_BYTES));
  }

  /** A welcome sent `size` bytes: owed by the reads that follow. */
  spend(size: number): void {
    spendToken(this.#bucket, this.#rate, this.#clock(), unitsOf(size));
  }

  /** Queues `answer` for `asker`: null, or why it is refused. `answer`
   * sends, and returns what that cost, in units (unitsOf). */
  ask(asker: Asker, answer: () => number): string | null {
    const own = this.#waiting.get(asker) ?? [];
    if (own.length >= READS_WAITING_EACH)
      return `You have ${READS_WAITING_EACH} searches or pages still waiting their turn; ask again once they are answered.`;
    if (this.#count >= READS_WAITING)
      return "The room has many searches and pages waiting their turn; try again in a few seconds.";
    own.push(answer);
    this.#waiting.set(asker, own);
    this.#count++;
    this.#schedule(0);
    return null;
  }

  #schedule(ms: number): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#later(() => {
      this.#scheduled = false;
      this.#next();
    }, ms);
  }

  /** Answers the next read in the round, if the budget has a token; then
   * comes back for the one after. */
  #next(): void {
    const first = this.#waiting.entries().next();
    if (first.done) return;
    const wait = msUntilToken(this.#bucket, this.#rate, this.#clock());
    if (wait > 0) return this.#schedule(wait);
    const [asker, reads] = first.value;
    const answer = reads.shift()!;
    this.#count--;
    // The asker goes to the end of the round, or out of it.
    this.#waiting.delete(asker);
    if (reads.length > 0) this.#waiting.set(asker, reads);
    let units = 1;
    try {
      units = answer();
    } finally {
      spendToken(this.#bucket, this.#rate, this.#clock(), units);
      if (this.#count > 0) this.#schedule(0);
    }
  }
}

/** The units of the budget a read of `size` bytes costs: one, and one more
 * for every READ_UNIT_BYTES. */
export const unitsOf = (size: number): number => 1 + Math.floor(size / READ_UNIT_BYTES);
