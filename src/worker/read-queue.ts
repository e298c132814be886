/**
 * Answers that read the room's history for one person (search, scroll-back,
 * who reacted) wait their turn, so that no one can take the room's time
 * from everyone else with them:
 *
 * - each is answered in a turn of its own, after the frames already
 *   waiting (a zero timeout): messages first;
 * - the room answers at most ROOM_READS_PER_SECOND of them (ROOM_READS_BURST
 *   at once), whoever asks, so that they never take more than a small share
 *   of its time: each is bounded (storage.ts), and so is their sum;
 * - whoever asks (an address, or a socket where addresses are not known)
 *   waits in a round: one answer each in turn, so that a script with many
 *   sockets gets no more turns than a person with one;
 * - one asker has at most READS_WAITING_EACH reads waiting, the room at most
 *   READS_WAITING; beyond either, the read is refused (`rate_limited`).
 *
 * A timer runs only while reads wait: an idle room sleeps.
 */
import { fullBucket, msUntilToken, takeToken, type Bucket, type BucketLimits } from "../shared/rate-limit";

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
  readonly #waiting = new Map<Asker, (() => void)[]>();
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

  /** Queues `answer` for `asker`: null, or why it is refused. */
  ask(asker: Asker, answer: () => void): string | null {
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
    const now = this.#clock();
    const wait = msUntilToken(this.#bucket, this.#rate, now);
    if (wait > 0) return this.#schedule(wait);
    takeToken(this.#bucket, this.#rate, now);
    const [asker, reads] = first.value;
    const answer = reads.shift()!;
    this.#count--;
    // The asker goes to the end of the round, or out of it.
    this.#waiting.delete(asker);
    if (reads.length > 0) this.#waiting.set(asker, reads);
    try {
      answer();
    } finally {
      if (this.#count > 0) this.#schedule(0);
    }
  }
}
