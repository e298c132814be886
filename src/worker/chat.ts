/**
 * The room's messages, one feature module of the room, and the one owner of
 * "stored before anyone sees it". A message is queued for everyone when it
 * arrives (which fixes who gets it, and in what order) and stored with the
 * rest of the turn just before the flush sends it (Connections calls
 * write() first); the output gate then holds the sends until the write is
 * durable. Every read of the history goes through here and writes first, so
 * a reader never misses or doubles a queued message.
 */
import type { HistoryFrame, MessageFrame, SendFrame, User } from "../shared/protocol";
import { log } from "./log";
import type { RoomParts } from "./room-parts";
import { WriteFailed, type History } from "./storage";

export class Chat {
  readonly #room: RoomParts;
  /** Called when a write dropped messages that carried files (retention). */
  readonly #filesDropped: () => void;
  /** This turn's messages, queued for everyone but not yet stored, with who
   * sent each (null: the room itself, for a shared file). */
  #unwritten: { payload: string; sender: WebSocket | null; cid: string | undefined }[] = [];

  constructor(room: RoomParts, filesDropped: () => void) {
    this.#room = room;
    this.#filesDropped = filesDropped;
  }

  /** A member's message: an id, and queued for everyone with the turn. */
  say(ws: WebSocket, from: User, frame: SendFrame, now: number): void {
    const message = this.#room.store.appendMessage(from, frame, now);
    const payload = this.#room.sockets.broadcast(message);
    this.#unwritten.push({ payload, sender: ws, cid: frame.cid });
  }

  /** A message the room made (a shared file's), stored at once: false when
   * the write failed and nobody got it. */
  publish(message: MessageFrame): boolean {
    const payload = this.#room.sockets.broadcast(message);
    this.#unwritten.push({ payload, sender: null, cid: undefined });
    return this.write();
  }

  /**
   * Stores the turn's messages in one transaction: before every flush, and
   * before anything reads the history. If the write fails, no one gets those
   * messages and each sender gets `internal` for theirs.
   */
  write(): boolean {
    if (this.#unwritten.length === 0) return true;
    const batch = this.#unwritten;
    this.#unwritten = [];
    try {
      if (this.#room.store.write().filesDoomed) this.#filesDropped();
      return true;
    } catch (error) {
      if (!(error instanceof WriteFailed)) throw error;
      log("internal_error", { room: this.#room.logName, error: String(error.cause), messages: error.messages.length });
      this.#room.sockets.retract(new Set(batch.map((m) => m.payload)));
      const sorry = "Something went wrong on the server and your message was not sent; please retry.";
      // A file's uploader (sender null) hears it in the answer to the upload.
      for (const { sender, cid } of batch) if (sender !== null) this.#room.refuse(sender, "internal", sorry, cid);
      return false;
    }
  }

  /** What a joiner gets: the newest messages, or, on a resume, those after `since`. */
  historyOnJoin(since: number | undefined): History {
    this.write();
    const { config, store } = this.#room;
    if (since === undefined) return { messages: store.recentMessages(config.historyOnJoin), truncated: false };
    return store.messagesAfter(since, config.historyOnResume);
  }

  /** A page of older messages, the answer to a `history` frame. */
  page(before: number): HistoryFrame {
    this.write();
    const { messages, complete } = this.#room.store.messagesBefore(before, this.#room.config.historyPage);
    const answer: HistoryFrame = { type: "history", before, messages };
    if (complete) answer.complete = true;
    return answer;
  }
}
