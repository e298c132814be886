/**
 * The room's calls, one feature module of the room (room.ts dispatches
 * `call` and `signal` frames here). Media goes peer to peer; the room keeps
 * who is in the call (in each socket's attachment, so it survives
 * hibernation) and relays signalling between them, never storing it.
 */
import type { SocketState } from "./connections";
import type { RoomParts } from "./room-parts";
import { fullBucket, takeToken } from "../shared/rate-limit";
import { utf8Length, type CallFrame, type SignalFrame, type User } from "../shared/protocol";

export class Calls {
  readonly #room: RoomParts;

  constructor(room: RoomParts) {
    this.#room = room;
  }

  /** Joins the call, changes what one sends in it, or leaves it; everyone hears. */
  state(ws: WebSocket, socket: SocketState, user: User, frame: CallFrame): void {
    const { config, sockets } = this.#room;
    const current = socket.call ?? null;
    if (frame.state === null && current === null) return; // not in the call: nothing to leave
    const off = current === null ? this.#room.featureOff("calls") : null;
    if (off !== null) return this.#room.refuse(ws, "calls_disabled", off);
    if (frame.state !== null && current === null && sockets.callMembers().length >= config.maxCallParticipants) {
      const max = config.maxCallParticipants;
      const message = `The call already has ${max} people, as many as a call here can take; try again when someone leaves.`;
      return this.#room.refuse(ws, "call_full", message);
    }
    socket.call = frame.state;
    sockets.save(ws, socket);
    sockets.broadcast({ type: "call", user, state: frame.state });
  }

  /** Relays WebRTC signalling to one other member of the call, stamped with the sender. */
  signal(ws: WebSocket, socket: SocketState, user: User, frame: SignalFrame, raw: string, now: number): void {
    const { config, sockets } = this.#room;
    const limits = this.#room.rules.signalRate;
    socket.signalBucket ??= fullBucket(limits, now);
    const allowed = takeToken(socket.signalBucket, limits, now);
    sockets.save(ws, socket);
    if (!allowed) {
      const { burst, perSecond } = limits;
      const message = `Slow down: at most ${burst} signals at once, then ${perSecond} per second. That signal was dropped.`;
      return this.#room.refuse(ws, "rate_limited", message);
    }
    const max = config.maxSignalBytes;
    if (raw.length > max / 3 && utf8Length(raw) > max) {
      return this.#room.refuse(ws, "too_long", `Signals are limited to ${max} bytes.`);
    }
    if (!socket.call) return this.#room.refuse(ws, "not_in_call", "Join the call before signalling to anyone in it.");
    const target = sockets.findByUserId(frame.to);
    if (target === undefined || target === ws || !sockets.state(target).call) {
      const message = `There is no one with the id "${frame.to}" in the call (they may just have left).`;
      return this.#room.refuse(ws, "not_in_call", message);
    }
    // Never stored, never broadcast: the one recipient gets it, with the sender's id.
    sockets.send(target, { type: "signal", from: user.id, data: frame.data });
  }
}
