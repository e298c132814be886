/**
 * ReadQueue (src/worker/read-queue.ts) on its own, with a clock and a timer
 * the test moves: the room's budget for reads, askers taking turns, and
 * the limits on what may wait. The room's use of it is in hostile.test.ts.
 */
import { describe, expect, it } from "vitest";
import {
  READS_WAITING,
  READS_WAITING_EACH,
  READ_FLOOR_BYTES,
  READ_UNIT_BYTES,
  ReadQueue,
  unitsOf,
} from "../src/worker/read-queue";

/** A queue on a clock of our own; `tick` runs the timers that are due. */
function queue(burst: number, perSecond: number) {
  let now = 0;
  let timers: { at: number; run: () => void }[] = [];
  const reads = new ReadQueue(
    { burst, perSecond },
    () => now,
    (run, ms) => void timers.push({ at: now + ms, run }),
  );
  const answered: string[] = [];
  const ask = (asker: string, what = asker, size = 0) =>
    reads.ask(asker, () => {
      answered.push(what);
      return unitsOf(size);
    });
  /** Moves the clock by `ms`, running every timer due on the way, in order. */
  const tick = (ms = 0) => {
    const until = now + ms;
    for (;;) {
      const due = timers.filter((timer) => timer.at <= until).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      timers = timers.filter((timer) => timer !== due);
      now = Math.max(now, due.at);
      due.run();
    }
    now = until;
  };
  return { reads, ask, tick, answered, timers: () => timers.length };
}

describe("ReadQueue", () => {
  it("answers nothing at once: each read in a turn of its own, after what is already waiting", () => {
    const { ask, tick, answered, timers } = queue(10, 1);
    expect(ask("ana")).toBeNull();
    expect(answered).toEqual([]);
    tick();
    expect(answered).toEqual(["ana"]);
    // Nothing waits: no timer keeps the room awake.
    expect(timers()).toBe(0);
  });

  it("answers a burst, then as many a second as its budget allows, whoever asks", () => {
    const { ask, tick, answered } = queue(3, 2);
    for (const asker of ["a", "b", "c", "d", "e"]) expect(ask(asker)).toBeNull();
    tick();
    expect(answered).toEqual(["a", "b", "c"]);
    tick(499);
    expect(answered).toHaveLength(3);
    tick(1);
    expect(answered).toEqual(["a", "b", "c", "d"]);
    tick(500);
    expect(answered).toEqual(["a", "b", "c", "d", "e"]);
  });

  it("takes askers in turn: many reads from one do not keep another waiting behind them all", () => {
    const { reads, ask, tick, answered } = queue(1, 1);
    ask("script", "s1");
    ask("script", "s2");
    ask("ana", "a1");
    ask("bo", "b1");
    expect(reads.waiting).toBe(4);
    tick();
    tick(1000);
    tick(1000);
    tick(1000);
    expect(answered).toEqual(["s1", "a1", "b1", "s2"]);
  });

  it(`refuses a third read waiting from one asker, and any beyond ${READS_WAITING} in the room`, () => {
    const { reads, ask, tick, answered } = queue(1, 1);
    for (let i = 0; i < READS_WAITING_EACH; i++) expect(ask("script")).toBeNull();
    expect(ask("script")).toMatch(/still waiting their turn/);
    for (let i = 0; reads.waiting < READS_WAITING; i++) expect(ask(`asker ${i}`)).toBeNull();
    expect(ask("one more")).toMatch(/many searches and pages waiting/);
    // Once one is answered, its asker may ask again.
    tick();
    expect(answered).toEqual(["script"]);
    expect(ask("script")).toBeNull();
  });

  it("charges a unit per READ_UNIT_BYTES sent: a big page makes the next reads wait longer", () => {
    const { ask, tick, answered } = queue(10, 10);
    ask("a", "big", 5 * READ_UNIT_BYTES); // six units
    ask("b", "small");
    ask("c", "small too");
    tick();
    // 10 units: big (6), small (1), small too (1).
    expect(answered).toEqual(["big", "small", "small too"]);
    ask("d", "another big", 10 * READ_UNIT_BYTES); // 11 units, two left
    ask("e", "after it");
    tick();
    expect(answered.at(-1)).toBe("another big");
    // Nine units owed now: "after it" waits for them to come back, and one more.
    tick(900);
    expect(answered.at(-1)).toBe("another big");
    tick(100);
    expect(answered.at(-1)).toBe("after it");
  });

  it("gives a welcome what the budget holds, never under the floor, and makes the reads after it pay", () => {
    const { reads, ask, tick, answered } = queue(8, 2);
    expect(reads.allowance(256 * 1024)).toBe(8 * READ_UNIT_BYTES);
    expect(reads.allowance(65_536)).toBe(65_536);
    reads.spend(8 * READ_UNIT_BYTES); // nine units: one owed
    expect(reads.allowance(256 * 1024)).toBe(READ_FLOOR_BYTES);
    ask("ana");
    tick();
    expect(answered).toEqual([]);
    tick(1000);
    expect(answered).toEqual(["ana"]);
  });

  it("goes on after an answer that throws", () => {
    const { reads, ask, tick, answered } = queue(5, 1);
    reads.ask("bad", (): number => {
      throw new Error("broken");
    });
    ask("ana");
    expect(() => tick()).toThrow("broken");
    tick();
    expect(answered).toEqual(["ana"]);
  });
});
