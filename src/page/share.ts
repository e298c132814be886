/**
 * Sharing files from the room page: the attach button, a pasted image, files
 * dropped anywhere on the chat. Each upload has its own entry in the list,
 * with progress and Cancel, until the room's message about the file (which
 * everyone, us included, gets over the socket) takes its place.
 */
import type { RoomSession } from "../core/session";
import { uploadFailed, uploadItem, uploadProgressText, type MessageLog } from "./log";
import { startUpload, tooLarge } from "./upload";

export interface SharingParts {
  /** The room's name; null on a page with no valid room. */
  room: string | null;
  chatView: HTMLElement;
  dropZone: HTMLElement;
  attach: HTMLButtonElement;
  fileInput: HTMLInputElement;
  textInput: HTMLTextAreaElement;
}

export function setUpSharing(
  session: RoomSession,
  log: MessageLog,
  showNotice: (text: string) => void,
  { room, chatView, dropZone, attach, fileInput, textInput }: SharingParts,
): void {
  /** Uploads each file, with its own progress entry; the room announces it to all. */
  function shareFiles(files: Iterable<File>): void {
    for (const file of files) void shareFile(file);
  }

  async function shareFile(file: File): Promise<void> {
    const me = session.me;
    const token = session.token;
    if (room === null || me === null || token === undefined) return showNotice("Join the room to share files.");
    if (!session.joined) return showNotice("Not connected right now: share the file once the room is back.");
    const refusal = tooLarge(file, session.limits?.fileBytes);
    if (refusal !== null) return showNotice(refusal);
    const entry = uploadItem(me, file);
    log.addOutgoing(entry.item);
    const upload = startUpload(room, token, file, (sent) => {
      entry.progress.value = sent;
      entry.percent.textContent = uploadProgressText(sent, file.size);
    });
    entry.cancel.addEventListener("click", () => {
      if (entry.item.dataset.state === "failed") entry.item.remove();
      else upload.cancel();
    });
    const result = await upload.done;
    if (result.ok || result.cancelled) entry.item.remove();
    else uploadFailed(entry, result.message);
  }

  attach.addEventListener("click", () => fileInput.click());
  fileInput.addEventListener("change", () => {
    if (fileInput.files !== null) shareFiles([...fileInput.files]);
    fileInput.value = "";
    textInput.focus();
  });

  // A pasted image (a screenshot, a copied picture) is shared, not typed.
  textInput.addEventListener("paste", (event) => {
    const files = [...(event.clipboardData?.files ?? [])];
    if (files.length === 0) return;
    event.preventDefault();
    shareFiles(files);
  });

  // Files dragged over the page can be dropped anywhere on the chat. Elsewhere
  // a drop would make the browser open the file in place of the room.
  const carriesFiles = (event: DragEvent): boolean => event.dataTransfer?.types.includes("Files") === true;
  let dragDepth = 0;
  document.addEventListener("dragenter", (event) => {
    if (!carriesFiles(event) || chatView.hidden) return;
    dragDepth++;
    dropZone.hidden = false;
  });
  document.addEventListener("dragleave", (event) => {
    if (!carriesFiles(event)) return;
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) dropZone.hidden = true;
  });
  document.addEventListener("dragover", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    if (event.dataTransfer !== null) event.dataTransfer.dropEffect = chatView.hidden ? "none" : "copy";
  });
  document.addEventListener("drop", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    dragDepth = 0;
    dropZone.hidden = true;
    if (!chatView.hidden && event.dataTransfer !== null) shareFiles([...event.dataTransfer.files]);
  });
}
