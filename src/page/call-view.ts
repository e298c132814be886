/**
 * The call on the page: a panel above the messages with a tile per
 * participant (video when their camera is on, else an avatar with their
 * initial), their name, a muted mark, and a ring while they speak, measured
 * from their audio; and the buttons to join, mute, turn the camera on and
 * leave. The chat goes on below it.
 */
import { Call, type CallEvents, type Participant } from "./call";
import type { CallMembers } from "../core/call-members";
import type { Kit } from "./kit";

/** Louder than this (RMS of the waveform, 0–1) counts as speaking. */
const SPEAKING_LEVEL = 0.02;
const LEVEL_EVERY_MS = 150;

export interface CallViewParts {
  panel: HTMLElement;
  grid: HTMLElement;
  mute: HTMLButtonElement;
  camera: HTMLButtonElement;
  leave: HTMLButtonElement;
  summary: HTMLElement;
}

interface Tile {
  root: HTMLElement;
  video: HTMLVideoElement;
  avatar: HTMLElement;
  name: HTMLElement;
  status: HTMLElement;
  stream: MediaStream | null;
  /** No ring for the muted, whatever their track still carries. */
  muted: boolean;
  meter: { analyser: AnalyserNode; samples: Float32Array<ArrayBuffer>; source: MediaStreamAudioSourceNode } | null;
}

/** The page's drawing helpers, passed in so that this chunk imports nothing of room.js (kit.ts). */
type Helpers = Pick<Kit, "el" | "hue">;

/** The call and its view, made when someone first joins (call-entry.ts loads this file then). */
export function openCall(
  members: CallMembers,
  events: CallEvents,
  parts: CallViewParts,
  helpers: Helpers,
): { call: Call; view: CallView } {
  const call = new Call(members, events);
  return { call, view: new CallView(call, parts, helpers) };
}

export class CallView {
  readonly #call: Call;
  readonly #parts: CallViewParts;
  readonly #helpers: Helpers;
  readonly #tiles = new Map<string, Tile>();
  #audio: AudioContext | null = null;
  #levels: ReturnType<typeof setInterval> | undefined;

  constructor(call: Call, parts: CallViewParts, helpers: Helpers) {
    this.#call = call;
    this.#parts = parts;
    this.#helpers = helpers;
    parts.mute.addEventListener("click", () => call.setMuted(call.state?.audio === true));
    parts.camera.addEventListener("click", () => {
      parts.camera.disabled = true;
      void call.setCamera(call.state?.video !== true).finally(() => (parts.camera.disabled = false));
    });
    parts.leave.addEventListener("click", () => call.leave());
  }

  /** Renders the call as it is now (the Join button is call-entry.ts's). */
  render(): void {
    const state = this.#call.state;
    const inCall = state !== null;
    const participants = this.#call.participants();
    const { panel, mute, camera, leave, summary } = this.#parts;
    mute.hidden = camera.hidden = leave.hidden = !inCall;
    mute.textContent = state?.audio ? "Mute" : "Unmute";
    mute.setAttribute("aria-pressed", String(state !== null && !state.audio));
    camera.textContent = state?.video ? "Camera off" : "Camera on";
    camera.setAttribute("aria-pressed", String(state?.video === true));
    panel.hidden = !inCall;
    const max = this.#call.maxParticipants;
    summary.textContent = inCall ? `${participants.length}${max === null ? "" : ` of ${max}`} in the call` : "";

    const seen = new Set<string>();
    for (const participant of participants) {
      seen.add(participant.user.id);
      this.#renderTile(participant);
    }
    for (const [id, tile] of this.#tiles) {
      if (seen.has(id)) continue;
      this.#dropTile(tile);
      this.#tiles.delete(id);
    }
    this.#parts.grid.dataset.count = String(participants.length);
    if (inCall && this.#levels === undefined) this.#levels = setInterval(() => this.#measure(), LEVEL_EVERY_MS);
    if (!inCall && this.#levels !== undefined) {
      clearInterval(this.#levels);
      this.#levels = undefined;
    }
  }

  #renderTile(participant: Participant): void {
    let tile = this.#tiles.get(participant.user.id);
    if (tile === undefined) {
      const { el, hue } = this.#helpers;
      const root = el("figure", "tile");
      const video = el("video");
      video.autoplay = true;
      video.playsInline = true;
      const avatar = el("div", `avatar hue-${hue(participant.user.id)}`);
      avatar.setAttribute("aria-hidden", "true");
      const caption = el("figcaption");
      const name = el("span", "tile-name");
      const status = el("span", "tile-status");
      caption.append(name, status);
      root.append(video, avatar, caption);
      tile = { root, video, avatar, name, status, stream: null, muted: false, meter: null };
      this.#tiles.set(participant.user.id, tile);
      this.#parts.grid.append(root);
    }
    const { root, video, avatar, name, status } = tile;
    root.dataset.user = participant.user.id;
    root.dataset.connection = participant.connection;
    root.classList.toggle("local", participant.local);
    root.classList.toggle("away", participant.away);
    const showVideo = participant.state.video && participant.stream.getVideoTracks().length > 0;
    root.classList.toggle("video-on", showVideo);
    video.muted = participant.local; // never play our own voice back
    if (video.srcObject !== participant.stream) video.srcObject = participant.stream;
    avatar.textContent = [...participant.user.nick][0]?.toUpperCase() ?? "?";
    name.textContent = participant.local ? `${participant.user.nick} (you)` : participant.user.nick;
    const notes: string[] = [];
    if (!participant.state.audio) notes.push("muted");
    if (participant.away) notes.push("reconnecting…");
    else if (!participant.local && participant.connection !== "connected")
      notes.push(participant.connection === "failed" ? "no connection" : "connecting…");
    status.textContent = notes.join(" · ");
    tile.muted = !participant.state.audio;
    root.setAttribute("aria-label", `${name.textContent}${notes.length > 0 ? `, ${notes.join(", ")}` : ""}`);
    if (tile.stream !== participant.stream) {
      tile.stream = participant.stream;
      this.#disconnectMeter(tile);
    }
    if (tile.meter === null && participant.stream.getAudioTracks().length > 0)
      tile.meter = this.#meterFor(participant.stream);
  }

  /** An analyser on the stream's audio, for the speaking ring. */
  #meterFor(stream: MediaStream): Tile["meter"] {
    try {
      this.#audio ??= new AudioContext();
      const source = this.#audio.createMediaStreamSource(stream);
      const analyser = this.#audio.createAnalyser();
      analyser.fftSize = 512;
      source.connect(analyser);
      return { analyser, source, samples: new Float32Array(analyser.fftSize) };
    } catch {
      return null; // no Web Audio: no ring, the call works the same
    }
  }

  #measure(): void {
    if (this.#audio?.state === "suspended") void this.#audio.resume();
    for (const tile of this.#tiles.values()) {
      if (tile.meter === null) continue;
      tile.meter.analyser.getFloatTimeDomainData(tile.meter.samples);
      let sum = 0;
      for (const sample of tile.meter.samples) sum += sample * sample;
      const level = Math.sqrt(sum / tile.meter.samples.length);
      tile.root.classList.toggle("speaking", level > SPEAKING_LEVEL && !tile.muted);
    }
  }

  #disconnectMeter(tile: Tile): void {
    tile.meter?.source.disconnect();
    tile.meter = null;
  }

  #dropTile(tile: Tile): void {
    this.#disconnectMeter(tile);
    tile.video.srcObject = null;
    tile.root.remove();
  }
}
