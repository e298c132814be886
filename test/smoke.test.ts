import { expect, it } from "vitest";
import { TestSocket, freshRoom } from "./socket";

it("two people chat", async () => {
  const room = freshRoom();
  const [alice] = await TestSocket.join(room, "Alice");
  const [bob, welcome] = await TestSocket.join(room, "Bob");
  expect(welcome.users.map((u) => u.nick)).toEqual(["Alice", "Bob"]);
  expect((await alice.expect("joined")).user.nick).toBe("Bob");
  bob.send({ type: "message", text: "hi", cid: "1" });
  expect((await alice.expect("message")).text).toBe("hi");
  expect((await bob.expect("message")).cid).toBe("1");
  bob.close();
  expect(await bob.closeEvent()).toEqual({ code: 1000, reason: "Bye" });
  expect((await alice.expect("left")).user.nick).toBe("Bob");
});
