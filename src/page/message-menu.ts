/**
 * A message's menu, opened from the ⋯ on each message: a dialog that quotes
 * the message and offers what the viewer may do with it: react (common
 * emoji, or any one typed), Reply, Edit (their own), Copy text, Copy link,
 * and Delete on their own messages (and, for moderators, on those of anyone
 * below them), after a confirmation. The room has the last word: a refusal
 * comes back as a notice, and every change as an entry to everyone.
 */
import type { RoomSession } from "../core/session";
import { canModerate, parseEmoji, quoteText, type MessageFrame } from "../shared/protocol";
import { confirmAction } from "./confirm";
import { byId } from "./dom";

/** May `session`'s person delete `message`? Their own; anyone's below them as a moderator. */
export function mayDelete(session: RoomSession, message: MessageFrame): boolean {
  const me = session.me;
  if (me === null || message.deleted) return false;
  if (message.from.id === me.id) return true;
  // The sender's role now, when they are here; else as it was when they wrote.
  const author = session.roster.get(message.from.id) ?? message.from;
  return canModerate(me, author);
}

/** What the menu's Reply, Edit and Copy link do (room.ts: the composer, the address). */
export interface MessageActions {
  reply(message: MessageFrame): void;
  edit(message: MessageFrame): void;
  link(message: MessageFrame): string;
}

export function setUpMessageMenu(session: RoomSession, list: HTMLOListElement, actions: MessageActions): void {
  const dialog = byId("message-dialog", HTMLDialogElement);
  const title = byId("message-title", HTMLElement);
  const quote = byId("message-quote", HTMLElement);
  const copy = byId("message-copy", HTMLButtonElement);
  const link = byId("message-link", HTMLButtonElement);
  const reply = byId("message-reply", HTMLButtonElement);
  const edit = byId("message-edit", HTMLButtonElement);
  const emoji = byId("message-emoji", HTMLInputElement);
  const remove = byId("message-delete", HTMLButtonElement);
  const reactions = byId("message-reactions", HTMLElement);
  let message: MessageFrame | null = null;
  let opener: HTMLElement | null = null;

  dialog.addEventListener("close", () => {
    if (dialog.returnValue === "") (opener?.isConnected ? opener : list).focus();
  });
  byId("message-close", HTMLButtonElement).addEventListener("click", () => dialog.close());

  list.addEventListener("click", (event) => {
    // A reaction under a message: ours added or taken back.
    const reaction = event.target instanceof Element ? event.target.closest<HTMLElement>("button.reaction") : null;
    const reacted = Number(reaction?.closest<HTMLElement>("li[data-id]")?.dataset.id);
    if (reaction?.dataset.emoji !== undefined && reacted > 0) session.toggleReaction(reacted, reaction.dataset.emoji);
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
    link.hidden = navigator.clipboard === undefined;
    edit.hidden = !mine || found.file !== undefined;
    remove.hidden = !mayDelete(session, found);
    emoji.value = "";
    dialog.returnValue = "";
    dialog.showModal();
    reply.focus();
  });

  const act = (run: (message: MessageFrame) => void) => () => {
    const target = message;
    dialog.close("done");
    if (target !== null) run(target);
  };
  reply.addEventListener("click", act(actions.reply));
  edit.addEventListener("click", act(actions.edit));
  link.addEventListener(
    "click",
    act((target) => void navigator.clipboard.writeText(actions.link(target)).catch(() => {})),
  );
  // A common emoji, or the one typed (Enter).
  reactions.addEventListener("click", (event) => {
    const chosen = event.target instanceof HTMLElement ? event.target.dataset.emoji : undefined;
    if (chosen !== undefined) act((target) => session.toggleReaction(target.id, chosen))();
  });
  emoji.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.isComposing) return;
    event.preventDefault();
    const chosen = parseEmoji(emoji.value.trim());
    if (chosen === null) {
      emoji.setCustomValidity("One emoji, such as 🙌");
      emoji.reportValidity();
      return;
    }
    emoji.setCustomValidity("");
    act((target) => session.toggleReaction(target.id, chosen))();
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
