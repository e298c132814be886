/**
 * A message's menu, opened from the ⋯ on each message: a dialog that quotes
 * the message and offers what the viewer may do with it: react (common
 * emoji, or any one typed), Reply, Edit (their own), Copy text, Copy link,
 * and Delete on their own messages (and, for moderators, on those of anyone
 * below them), after a confirmation. The room has the last word: a refusal
 * comes back as a notice, and every change as an entry to everyone.
 *
 * Loaded on demand, like the moderation dialogs: room.ts imports this file
 * the first time a ⋯ is clicked and hands it the page's helpers (kit.ts).
 */
import type { RoomSession } from "../core/session";
import type { MessageFrame } from "../shared/protocol";
import type { Kit } from "./kit";

/** What the menu's Reply, Edit and Copy link do (room.ts: the composer, the address). */
export interface MessageActions {
  reply(message: MessageFrame): void;
  edit(message: MessageFrame): void;
  link(message: MessageFrame): string;
}

/** The menu, made the first time it is opened: its markup (public/parts/message-menu.html) goes after the list. */
export async function setUpMessageMenu(
  session: RoomSession,
  list: HTMLOListElement,
  actions: MessageActions,
  { byId, fetchPart, confirmAction, canModerate, parseEmoji, quoteText }: Kit,
): Promise<{ open(message: MessageFrame, opener: HTMLElement): void }> {
  list.parentElement?.after(...(await fetchPart("/parts/message-menu.html")));
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

  const open = (found: MessageFrame, button: HTMLElement): void => {
    message = found;
    opener = button;
    const mine = found.from.id === session.me?.id;
    title.textContent = mine ? "Your message" : `Message from ${found.from.nick}`;
    const text = found.file === undefined ? found.text : found.file.name;
    quote.textContent = quoteText(text);
    copy.hidden = found.text === "" || navigator.clipboard === undefined;
    link.hidden = navigator.clipboard === undefined;
    edit.hidden = !mine || found.file !== undefined;
    // Our own; as a moderator, anyone's below us (their role now, when they are here).
    remove.hidden =
      session.me === null || (!mine && !canModerate(session.me, session.roster.get(found.from.id) ?? found.from));
    emoji.value = "";
    dialog.returnValue = "";
    dialog.showModal();
    reply.focus();
  };

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
  return { open };
}
