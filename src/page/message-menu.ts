/**
 * A message's menu, opened from the ⋯ on each message: a dialog that quotes
 * the message and offers what the viewer may do with it: Copy text, and
 * Delete on their own messages (and, for moderators, on those of anyone
 * below them), after a confirmation. The room has the last word: a refusal
 * comes back as a notice, and the deletion as a `deleted` entry to everyone.
 */
import type { RoomSession } from "../core/session";
import { quoteText, type MessageFrame } from "../shared/protocol";
import { confirmAction } from "./confirm";
import { byId } from "./dom";
import { canModerate } from "./moderate";

/** May `session`'s person delete `message`? Their own; anyone's below them as a moderator. */
export function mayDelete(session: RoomSession, message: MessageFrame): boolean {
  const me = session.me;
  if (me === null || message.deleted) return false;
  if (message.from.id === me.id) return true;
  // The sender's role now, when they are here; else as it was when they wrote.
  const author = session.roster.get(message.from.id) ?? message.from;
  return canModerate(me, author);
}

export function setUpMessageMenu(session: RoomSession, list: HTMLOListElement): void {
  const dialog = byId("message-dialog", HTMLDialogElement);
  const title = byId("message-title", HTMLElement);
  const quote = byId("message-quote", HTMLElement);
  const copy = byId("message-copy", HTMLButtonElement);
  const remove = byId("message-delete", HTMLButtonElement);
  let message: MessageFrame | null = null;
  let opener: HTMLElement | null = null;

  dialog.addEventListener("close", () => {
    if (dialog.returnValue !== "delete") (opener?.isConnected ? opener : list).focus();
  });
  byId("message-close", HTMLButtonElement).addEventListener("click", () => dialog.close());

  list.addEventListener("click", (event) => {
    const button = event.target instanceof Element ? event.target.closest<HTMLElement>("button.more") : null;
    const id = Number(button?.closest<HTMLElement>("li[data-id]")?.dataset.id);
    const found = session.messages.get(id);
    if (button === null || found === undefined || found.deleted) return;
    message = found;
    opener = button;
    const mine = found.from.id === session.me?.id;
    title.textContent = mine ? "Your message" : `Message from ${found.from.nick}`;
    const text = found.file === undefined ? found.text : found.file.name;
    quote.textContent = quoteText(text);
    copy.hidden = found.text === "" || navigator.clipboard === undefined;
    remove.hidden = !mayDelete(session, found);
    dialog.returnValue = "";
    dialog.showModal();
    (copy.hidden ? byId("message-close", HTMLButtonElement) : copy).focus();
  });

  copy.addEventListener("click", async () => {
    const text = message?.text ?? "";
    dialog.close();
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Nothing to say: the text is on the screen to select by hand.
    }
  });

  remove.addEventListener("click", async () => {
    const target = message;
    const returnTo = opener;
    if (target === null || returnTo === null) return;
    dialog.close("delete");
    const whose = target.from.id === session.me?.id ? "your message" : `${target.from.nick}'s message`;
    const sure = await confirmAction(
      `Delete ${whose} for everyone? Everyone will see "Message deleted" in its place. This cannot be undone.`,
      "Delete",
      returnTo,
      list,
    );
    if (sure) session.deleteMessage(target.id);
  });
}
