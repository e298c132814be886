/**
 * Asking before what cannot be undone (deleting a message, clearing the
 * history, replacing the owner key): one modal dialog, the question, the
 * action, and Cancel, which has the focus, so that Enter or Escape never
 * destroys anything by accident. Never `window.confirm`: it blocks the page
 * (and the socket's handlers) and cannot be styled or tested.
 */
import { byId } from "./dom";

/** Resolves true when the person chose `action`, false on Cancel or Escape.
 * The focus goes back to `returnTo` (or, when it is gone, to `fallback`). */
export function confirmAction(
  question: string,
  action: string,
  returnTo: HTMLElement,
  fallback: HTMLElement,
): Promise<boolean> {
  const dialog = byId("confirm-dialog", HTMLDialogElement);
  byId("confirm-text", HTMLElement).textContent = question;
  byId("confirm-yes", HTMLButtonElement).textContent = action;
  dialog.returnValue = "";
  dialog.showModal();
  byId("confirm-no", HTMLButtonElement).focus();
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        (returnTo.isConnected ? returnTo : fallback).focus();
        resolve(dialog.returnValue === "yes");
      },
      { once: true },
    );
  });
}
