/**
 * Moderating from the page: a dialog for one person in the room, opened from
 * their name in the roster, with what the viewer's role allows: Kick and Ban
 * (with a reason and, for a ban, how long) for moderators and the owner,
 * Make moderator / Make member for the owner. The room has the last word:
 * its refusals come back as notices like any other.
 *
 * Loaded on demand (most people never moderate): room.ts imports this file
 * the first time a moderator opens one of its dialogs, and hands it the
 * page's helpers (kit.ts).
 */
import type { RoomSession } from "../core/session";
import type { BansFrame, ModlogFrame, RoomSettings, User } from "../shared/protocol";
import type { Kit } from "./kit";

/** Both dialogs, made the first time one is opened: their markup
 * (public/parts/moderation.html, a static file of ours) goes into the roster. */
export async function setUpDialogs(session: RoomSession, kit: Kit) {
  kit.byId("roster", HTMLElement).append(...(await kit.fetchPart("/parts/moderation.html")));
  return { person: setUpModeration(session, kit), settings: setUpSettings(session, kit) };
}

function setUpModeration(session: RoomSession, { byId }: Kit): { open(user: User, opener: HTMLElement): void } {
  const dialog = byId("person-dialog", HTMLDialogElement);
  const title = byId("person-title", HTMLElement);
  const reason = byId("person-reason", HTMLInputElement);
  const length = byId("person-ban-length", HTMLSelectElement);
  const kick = byId("person-kick", HTMLButtonElement);
  const ban = byId("person-ban", HTMLButtonElement);
  const role = byId("person-role", HTMLButtonElement);
  const cancel = byId("person-cancel", HTMLButtonElement);
  let target: User | null = null;
  let opener: HTMLElement | null = null;

  const close = (): void => {
    dialog.close();
    target = null;
  };
  // Focus goes back to where the dialog was opened from, or, when that is
  // gone (the person left meanwhile), to the roster.
  dialog.addEventListener("close", () => (opener?.isConnected ? opener : byId("roster-summary", HTMLElement)).focus());

  // The room answers with a notice to everyone (or a refusal, shown as a notice).
  const why = (): string | undefined => reason.value.trim() || undefined;

  kick.addEventListener("click", () => {
    if (target !== null) session.kick(target.id, why());
    close();
  });
  ban.addEventListener("click", () => {
    if (target !== null) session.ban(target.id, length.value === "" ? undefined : Number(length.value), why());
    close();
  });
  role.addEventListener("click", () => {
    if (target !== null) session.setRole(target.id, target.role === "moderator" ? "member" : "moderator");
    close();
  });
  cancel.addEventListener("click", close);

  return {
    open(user, from) {
      target = user;
      opener = from;
      title.textContent = user.nick;
      reason.value = "";
      length.value = "60";
      const owner = session.me?.role === "owner";
      role.hidden = !owner;
      role.textContent = user.role === "moderator" ? "Make a member again" : "Make moderator";
      dialog.showModal();
      reason.focus();
    },
  };
}

/**
 * The room's settings, for moderators and the owner: topic, lock, slow
 * mode, files and calls (Save sends what changed), the bans in force with
 * Unban, and the moderation log. Bans and the log are asked for when the
 * dialog opens; the room's answers are drawn here while it is open.
 */
function setUpSettings(
  session: RoomSession,
  { byId, el, confirmAction, modlogText, untilText }: Kit,
): { open(opener: HTMLElement): void; bans(frame: BansFrame): boolean; modlog(frame: ModlogFrame): boolean } {
  const dialog = byId("settings-dialog", HTMLDialogElement);
  const form = byId("settings-form", HTMLFormElement);
  const topic = byId("settings-topic", HTMLInputElement);
  const locked = byId("settings-locked", HTMLInputElement);
  const slow = byId("settings-slow", HTMLSelectElement);
  const files = byId("settings-files", HTMLInputElement);
  const calls = byId("settings-calls", HTMLInputElement);
  const bansList = byId("settings-bans", HTMLUListElement);
  const logList = byId("settings-modlog", HTMLUListElement);
  const ownerPart = byId("settings-owner", HTMLElement);
  const clear = byId("settings-clear", HTMLButtonElement);
  let opener: HTMLElement | null = null;
  clear.addEventListener("click", async () => {
    const sure = await confirmAction(
      "Clear the whole history? Every message and every file goes, for everyone, for good.",
      "Clear the history",
      clear,
      topic,
    );
    if (!sure) return;
    session.clearHistory();
    dialog.close();
  });
  dialog.addEventListener("close", () => opener?.focus());
  byId("settings-close", HTMLButtonElement).addEventListener("click", () => dialog.close());

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const now = session.settings;
    const wanted: RoomSettings = {
      topic: topic.value.trim(),
      locked: locked.checked,
      slowModeSeconds: Number(slow.value),
      files: files.checked,
      calls: calls.checked,
    };
    const changes: Partial<RoomSettings> = {};
    for (const key of Object.keys(wanted) as (keyof RoomSettings)[]) {
      if (wanted[key] !== now[key]) Object.assign(changes, { [key]: wanted[key] });
    }
    if (Object.keys(changes).length > 0) session.changeSettings(changes);
    dialog.close();
  });

  bansList.addEventListener("click", (event) => {
    const id =
      event.target instanceof HTMLElement ? event.target.closest<HTMLElement>("[data-ban]")?.dataset.ban : undefined;
    if (id !== undefined) session.bansRequest(id);
  });

  return {
    open(from) {
      opener = from;
      const now = session.settings;
      topic.value = now.topic;
      locked.checked = now.locked;
      // A value set elsewhere (the terminal's /slow 45) gets an option of its own.
      if (![...slow.options].some((option) => option.value === String(now.slowModeSeconds))) {
        slow.append(new Option(`${now.slowModeSeconds} s`, String(now.slowModeSeconds)));
      }
      slow.value = String(now.slowModeSeconds);
      files.checked = now.files;
      calls.checked = now.calls;
      ownerPart.hidden = session.me?.role !== "owner";
      bansList.replaceChildren(el("li", "hint", "Loading…"));
      logList.replaceChildren(el("li", "hint", "Loading…"));
      session.bansRequest();
      session.modlogRequest();
      dialog.showModal();
      topic.focus();
    },
    bans({ bans }) {
      if (!dialog.open) return false;
      bansList.replaceChildren(
        ...(bans.length === 0
          ? [el("li", "hint", "No bans in force.")]
          : bans.map((ban) => {
              const item = el("li", undefined, `${ban.user.nick} ${untilText(ban.until)}, by ${ban.by.nick}`);
              if (ban.reason !== undefined) item.append(`: ${ban.reason}`);
              const unban = el("button", "ghost", "Unban");
              unban.type = "button";
              unban.dataset.ban = ban.id;
              unban.setAttribute("aria-label", `Unban ${ban.user.nick}`);
              item.append(" ", unban);
              return item;
            })),
      );
      return true;
    },
    modlog({ entries }) {
      if (!dialog.open) return false;
      logList.replaceChildren(
        ...(entries.length === 0
          ? [el("li", "hint", "Nothing yet.")]
          : entries.map((entry) => el("li", undefined, modlogText(entry)))),
      );
      return true;
    },
  };
}
