/**
 * The room's files, one feature module of the room. The Worker streams the
 * bytes to R2 (file-routes.ts); the room decides who may upload, keeps the
 * quota and the hourly budgets, announces a file once it is stored, and
 * deletes the objects of files whose messages are gone.
 */
import { filePath, formatFileSize } from "../shared/files";
import type { FileInfo, MessageFrame, User } from "../shared/protocol";
import { newFileId } from "./ids";
import { log } from "./log";
import type { RoomParts } from "./room-parts";
import { UPLOAD_TIMEOUT_MS, hashSecret } from "./storage";

/** Answers to the Worker's upload calls: go on, or the HTTP refusal to send. */
export type UploadRefusal = {
  ok: false;
  status: 403 | 408 | 429 | 500 | 507;
  error: string;
  message: string;
  retryAfterSeconds?: number;
};
export type UploadStart = { ok: true; id: string } | UploadRefusal;
export type UploadFinish = { ok: true; message: MessageFrame } | UploadRefusal;

/** Where a room's file lives in the FILES bucket. */
export const fileKey = (room: string, id: string): string => `${room}/${id}`;

const HOUR_MS = 3_600_000;

export class RoomFiles {
  readonly #room: RoomParts;
  readonly #bucket: R2Bucket;
  /** Whether sweep() is running. */
  #sweeping = false;

  constructor(room: RoomParts, bucket: R2Bucket) {
    this.#room = room;
    this.#bucket = bucket;
  }

  /**
   * Upload step 1: may the holder of this session token upload `size` bytes?
   * Only a member joined to the room right now may, and only within the
   * room's quota (uploads under way count with their full size).
   */
  start(request: { session: string; name: string; size: number; type: string }): UploadStart {
    const { config, sockets, store } = this.#room;
    const uploader = sockets.findBySession(hashSecret(request.session)) ?? null;
    const user = uploader?.user ?? null;
    if (uploader === null || user === null) {
      const message =
        "Only people in the room can share files: join it, then upload with the session token from welcome.";
      return { ok: false, status: 403, error: "not_a_member", message };
    }
    const off = this.#room.featureOff("files");
    if (off !== null) return { ok: false, status: 403, error: "files_disabled", message: off };
    const now = Date.now();
    const address = uploader.ip;
    const { bytes, doomed } = store.filesBytes(now);
    if (doomed) void this.sweep();
    const quota = config.roomFilesQuotaBytes;
    if (bytes + request.size > quota) {
      log("room_storage_full", { room: this.#room.logName, bytes, size: request.size, quota });
      return {
        ok: false,
        status: 507,
        error: "room_storage_full",
        message:
          `This room's files take ${formatFileSize(bytes)} of its ${formatFileSize(quota)}, so ${formatFileSize(request.size)} more ` +
          "do not fit. Files are deleted with the oldest messages; try a smaller file, or later.",
      };
    }
    const budget = this.#budgetRefusal(user, address, request.size, now);
    if (budget !== null) return budget;
    // A file is a message: slow mode holds for it (checked last, since an
    // upload it lets through counts as the member's message from now).
    const slow = this.#room.slowMode(user, now);
    if (slow !== null) return { ok: false, status: 429, error: "slow_mode", ...slow };
    const id = newFileId();
    store.startUpload({ id, name: request.name, size: request.size, type: request.type, from: user, address }, now);
    // An upload that never finishes is given up by the alarm, not only when the next one starts.
    this.#room.armAlarm(now + UPLOAD_TIMEOUT_MS);
    return { ok: true, id };
  }

  /**
   * UPLOAD_BYTES_PER_HOUR: one person, and one address, may share only so
   * much per hour, so that nobody can fill the room's quota alone and leave
   * everyone else unable to share anything.
   */
  #budgetRefusal(user: User, address: string | null, size: number, now: number): UploadRefusal | null {
    const budget = this.#room.config.uploadBytesPerHour;
    const used = this.#room.store.uploadedSince(now - HOUR_MS, user.id, address);
    const over = [used.user, used.address].find((usage) => usage.bytes + size > budget);
    if (over === undefined) return null;
    // When the oldest upload of the window leaves it (the soonest anything frees up).
    const seconds = Math.max(1, Math.ceil(((over.oldest ?? now) + HOUR_MS - now) / 1000));
    const who = over === used.user ? "You have" : "Your address has";
    return {
      ok: false,
      status: 429,
      error: "upload_budget_exceeded",
      message:
        `${who} shared ${formatFileSize(over.bytes)} here in the last hour, and each person may share ${formatFileSize(budget)} an hour, ` +
        `so ${formatFileSize(size)} more do not fit. Try again in ${Math.ceil(seconds / 60)} min, or send a smaller file.`,
      retryAfterSeconds: seconds,
    };
  }

  /**
   * Upload step 2: the object is stored; its message goes to everyone, and
   * into the history, now. The uploader's current nick is used if they are
   * still here, the one they uploaded with if not.
   */
  finish(id: string, type: string): UploadFinish {
    const { sockets, store } = this.#room;
    const upload = store.findUpload(id);
    if (upload === null) {
      const message = "The upload took too long and was given up; please send the file again.";
      return { ok: false, status: 408, error: "upload_timeout", message };
    }
    store.setUploadType(id, type);
    const here = sockets.findByUserId(upload.from.id);
    const from = here === undefined ? upload.from : (sockets.state(here).user ?? upload.from);
    const file: FileInfo = { id, name: upload.name, size: upload.size, type, url: filePath(this.#room.name, id) };
    const message = store.appendFileMessage(from, file, Date.now());
    if (!this.#room.publish(message)) {
      this.#abandon(id);
      const sorry = "Something went wrong on the server and the file was not shared; please retry.";
      return { ok: false, status: 500, error: "internal", message: sorry };
    }
    log("file_shared", { room: this.#room.logName, user: from.id, size: upload.size, type });
    return { ok: true, message };
  }

  /** An upload that failed on its way to R2: its bytes no longer count. */
  abandon(id: string): void {
    if (this.#room.store.findUpload(id) !== null) this.#abandon(id);
  }

  #abandon(id: string): void {
    this.#room.store.doomFile(id);
    void this.sweep();
  }

  /** Deletes the objects of dropped files from R2, retrying from an alarm if R2 fails. */
  async sweep(): Promise<void> {
    if (this.#sweeping) return;
    this.#sweeping = true;
    const { name, logName } = this.#room;
    try {
      for (;;) {
        const ids = this.#room.store.doomedFiles(1000); // R2 deletes at most 1,000 keys at once
        if (ids.length === 0) break;
        await this.#bucket.delete(ids.map((id) => fileKey(name, id)));
        this.#room.store.forgetFiles(ids);
        log("files_deleted", { room: logName, files: ids.length });
      }
    } catch (error) {
      log("internal_error", { room: logName, error: `deleting files: ${String(error)}` });
      this.#room.armAlarm(Date.now() + 60_000);
    } finally {
      this.#sweeping = false;
    }
  }
}
