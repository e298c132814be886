/**
 * Moderating from the page: a dialog for one person in the room, opened from
 * their name in the roster, with what the viewer's role allows: Kick and Ban
 * (with a reason and, for a ban, how long) for moderators and the owner,
 * Make moderator / Make member for the owner. The room has the last word:
 * its refusals come back as notices like any other.
 */
import type { RoomSession } from "../core/session";
import type { User } from "../shared/protocol";
import { byId } from "./dom";

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
