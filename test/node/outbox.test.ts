/**
 * The outbox both clients share (src/core/outbox.ts), in Node with fake
 * timers: order, pacing under the room's limit, confirmations, refusals,
 * reconnects.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { Outbox } from "../../src/core/outbox";
import type { ClientFrame, RoomLimits } from "../../src/shared/protocol";

describe("outbox", () => {
  const limits: RoomLimits = {
    messageLength: 4000,
    nickLength: 32,
    typingIntervalMs: 2000,
    rateBurst: 4,
    ratePerSecond: 5,
  };
  afterEach(() => vi.useRealTimers());

  function outbox() {
    const sent: ClientFrame[] = [];
    let online = true;
    const refused: string[] = [];
    const box = new Outbox(
      (frame) => online && sent.push(frame) > 0,
      (item, reason) =>
        refused.push(
          `${item.kind === "message" ? item.text : item.kind === "nick" ? item.nick : `/${item.frame.type}`}: ${reason}`,
        ),
    );
    return { box, sent, refused, setOnline: (value: boolean) => (online = value) };
  }

  it("holds everything until joined, then paces it under the room's limit, in order", () => {
    vi.useFakeTimers();
    const { box, sent } = outbox();
    for (let i = 1; i <= 6; i++) box.message(`m${i}`, i === 6);
    box.rename("Bo");
    expect(sent).toEqual([]);
    box.joined(limits, "Ana");
    // A burst of 4 - 2, then 5 × 0.8 = 4 per second.
    expect(sent.map((frame) => (frame.type === "message" ? frame.text : frame.type))).toEqual(["m1", "m2"]);
    vi.advanceTimersByTime(250);
    expect(sent).toHaveLength(3);
    vi.advanceTimersByTime(1000);
    expect(sent.map((frame) => (frame.type === "message" ? frame.text : frame.type))).toEqual([
      "m1",
      "m2",
      "m3",
      "m4",
      "m5",
      "m6",
      "nick",
    ]);
    expect(sent[5]).toMatchObject({ action: true });
    expect(new Set(sent.flatMap((frame) => (frame.type === "message" ? [frame.cid] : []))).size).toBe(6);
  });

  it("confirms by echo and by rename, and writes the rest again after a reconnect", () => {
    const { box, sent } = outbox();
    box.joined({ ...limits, rateBurst: 0 }, "Ana");
    box.message("a", false);
    box.message("b", false);
    box.rename("Bo");
    const [a, b] = sent as unknown as [{ cid: string }, { cid: string }];
    expect(box.confirmMessage(a.cid)).toMatchObject({ text: "a" });
    expect(box.size).toBe(2);
    box.disconnected();
    sent.length = 0;
    // The rename got through before the drop: the welcome carries the new name.
    box.joined({ ...limits, rateBurst: 0 }, "Bo");
    expect(sent).toEqual([{ type: "message", text: "b", cid: b.cid }]);
    expect(box.refused(b.cid)).toMatchObject({ text: "b" });
    expect(box.size).toBe(0);
  });

  it("matches a refusal to a rename by its cid, and never one without a cid", () => {
    const { box, sent } = outbox();
    box.joined({ ...limits, rateBurst: 0 }, "Ana");
    box.rename("Bo");
    const [rename] = sent as unknown as [{ type: string; cid: string }];
    expect(rename).toMatchObject({ type: "nick", nick: "Bo" });
    // A refused page of history or call frame carries no cid: not the rename's.
    expect(box.refused(undefined)).toBeUndefined();
    expect(box.refused("someone-else")).toBeUndefined();
    expect(box.refused(rename.cid)).toMatchObject({ kind: "nick", nick: "Bo" });
    expect(box.size).toBe(0);
  });

  it("refuses what the room would refuse before writing it, with the room's reason, and writes nothing after it in that pass", () => {
    const { box, sent, refused } = outbox();
    box.message("fine", false);
    box.message("x".repeat(4001), false);
    box.message("after", false);
    box.joined({ ...limits, rateBurst: 0 }, "Ana");
    expect(sent.map((f) => f.type === "message" && f.text)).toEqual(["fine"]);
    expect(refused).toEqual([`${"x".repeat(4001)}: A message is at most 4000 characters.`]);
    // Typed lines go on when asked: the next pass writes the rest.
    box.pump();
    expect(sent.map((f) => f.type === "message" && f.text)).toEqual(["fine", "after"]);
  });

  it("counts frames sent outside the queue (a page of history) against its pace", () => {
    vi.useFakeTimers();
    const { box, sent } = outbox();
    box.joined(limits, "Ana");
    // The pace allows a burst of 2: two pages of history use it up.
    box.spend();
    box.spend();
    box.message("after the pages", false);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(250);
    expect(sent.map((frame) => frame.type === "message" && frame.text)).toEqual(["after the pages"]);
  });

  it("sends a retried message with the cid it was shown with, and gives every outbox cids of its own", () => {
    const { box, sent } = outbox();
    box.joined({ ...limits, rateBurst: 0 }, "Ana");
    const cid = box.newCid();
    box.message("shown first, sent now", false, cid);
    expect(sent).toEqual([{ type: "message", text: "shown first, sent now", cid }]);
    expect(box.newCid()).not.toBe(cid);
    const [mine, theirs] = [box.newCid(), outbox().box.newCid()];
    expect(mine.split("-")[0]).toMatch(/^[0-9a-f]{8}$/);
    expect(mine.split("-")[0]).not.toBe(theirs.split("-")[0]);
  });
});
