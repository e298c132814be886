/**
 * Moderating from the page: a dialog for one person in the room, opened from
 * their name in the roster, with what the viewer's role allows: Kick and Ban
 * (with a reason and, for a ban, how long) for moderators and the owner,
 * Make moderator / Make member for the owner. The room has the last word:
 * its refusals come back as notices like any other.
 */
import { modlogText, untilText, type RoomSession } from "../core/session";
import type { BansFrame, ModlogFrame, RoomSettings, User } from "../shared/protocol";
import { byId, el } from "./dom";

const RANK = { member: 0, moderator: 1, owner: 2 } as const;

/** May `me` act on `user` (a lower role)? */
export function canModerate(me: User | null, user: User): boolean {
  if (me === null || me.id === user.id) return false;
  return RANK[me.role ?? "member"] >= RANK.moderator && RANK[me.role ?? "member"] > RANK[user.role ?? "member"];
}

export function setUpModeration(
  session: RoomSession,
  showNotice: (text: string) => void,
): { open(user: User, opener: HTMLElement): void } {
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

  /** What the room is asked: said when it cannot be asked now; the dialog closes. */
  const act = (problem: string | null): void => {
    if (problem !== null) showNotice(problem);
    close();
  };
  const why = (): string | undefined => reason.value.trim() || undefined;

  kick.addEventListener("click", () => target !== null && act(session.kick(target.id, why())));
  ban.addEventListener("click", () => {
    if (target === null) return;
    const minutes = length.value === "" ? undefined : Number(length.value);
    act(session.ban(target.id, minutes, why()));
  });
  role.addEventListener("click", () => {
    if (target === null) return;
    act(session.setRole(target.id, target.role === "moderator" ? "member" : "moderator"));
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
export function setUpSettings(
  session: RoomSession,
  showNotice: (text: string) => void,
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
  let opener: HTMLElement | null = null;
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
    if (Object.keys(changes).length > 0) {
      const problem = session.changeSettings(changes);
      if (problem !== null) return showNotice(problem);
    }
    dialog.close();
  });

  bansList.addEventListener("click", (event) => {
    const id =
      event.target instanceof HTMLElement ? event.target.closest<HTMLElement>("[data-ban]")?.dataset.ban : undefined;
    if (id === undefined) return;
    const problem = session.bansRequest(id);
    if (problem !== null) showNotice(problem);
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
