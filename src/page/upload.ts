/**
 * Sharing a file from the page: the bytes go to the room's upload endpoint
 * (files.ts has its address) with the session token; the room then sends
 * everyone the file's message over the socket, so nothing here adds it to
 * the list. XMLHttpRequest, not fetch: only it reports upload progress.
 */
import { tooLargeMessage, uploadPath } from "../shared/files";
import type { FileInfo } from "../shared/protocol";

export type UploadResult = { ok: true; file: FileInfo } | { ok: false; cancelled: boolean; message: string };

export interface Upload {
  /** Settles once: shared, refused, failed or cancelled. */
  readonly done: Promise<UploadResult>;
  cancel(): void;
}

/** Sends `file` to `room`; `progress` gets the share sent, from 0 to 1. */
export function startUpload(room: string, session: string, file: File, progress: (sent: number) => void): Upload {
  const xhr = new XMLHttpRequest();
  const done = new Promise<UploadResult>((resolve) => {
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable && event.total > 0) progress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      const answer = parseAnswer(xhr.responseText);
      if (xhr.status === 201 && answer?.file !== undefined) return resolve({ ok: true, file: answer.file });
      resolve({
        ok: false,
        cancelled: false,
        message: answer?.message ?? `The server answered ${xhr.status}; please try again.`,
      });
    });
    xhr.addEventListener("error", () =>
      resolve({ ok: false, cancelled: false, message: "The connection broke during the upload; please try again." }),
    );
    xhr.addEventListener("abort", () => resolve({ ok: false, cancelled: true, message: "Upload cancelled." }));
  });
  xhr.open("POST", uploadPath(room, file.name));
  xhr.setRequestHeader("Authorization", `Bearer ${session}`);
  xhr.setRequestHeader("Content-Type", file.type === "" ? "application/octet-stream" : file.type);
  xhr.send(file);
  return { done, cancel: () => xhr.abort() };
}

/** Refuses a file the room would refuse anyway, before a byte is sent. */
export function tooLarge(file: File, maxBytes: number | undefined): string | null {
  if (maxBytes === undefined || file.size <= maxBytes) return null;
  return tooLargeMessage(file.name, file.size, maxBytes);
}

function parseAnswer(text: string): { file?: FileInfo; message?: string } | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? (value as { file?: FileInfo; message?: string }) : null;
  } catch {
    return null;
  }
}
