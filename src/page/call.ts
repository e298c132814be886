/**
 * The room's call, in the browser: a WebRTC mesh (one RTCPeerConnection per
 * other participant), with the room relaying signalling over the chat's
 * WebSocket (`signal` frames) and keeping who is in the call (`call` frames,
 * followed by the client core's CallMembers before they reach this file).
 *
 * Who offers: the later of two participants, in the room's order. When the
 * room confirms our own joining, everyone already in the call gets an offer
 * from us; whoever joins after us offers to us. Renegotiation after that
 * (an ICE restart, say) uses "perfect negotiation": the polite peer (the
 * smaller user id) rolls back its own offer when both offer at once, the
 * impolite one ignores the other's, so a collision can never deadlock.
 *
 * Each connection has one audio and one video transceiver from the start, so
 * muting (no audio track) and the camera (a video track or none) never need
 * a renegotiation; without a track a sender sends nothing at all.
 */
import type { CallInfo, CallNoticeFrame, CallState, IceServer, SignalNoticeFrame, User } from "../shared/protocol";
import type { CallMembers } from "../core/call-members";

/** Someone in the call, as the page shows them. */
export interface Participant {
  user: User;
  state: CallState;
  /** Ourselves: our own camera, never our own sound. */
  local: boolean;
  /** What they send (ours: what we capture). */
  stream: MediaStream;
  /** The connection to them: "new", "connecting", "connected", "disconnected", "failed"… (ours: "connected"). */
  connection: RTCPeerConnectionState;
  /** They dropped off the room's socket; the call waits a little for them to come back. */
  away: boolean;
}

export interface CallEvents {
  /** Sends a frame on the chat's socket; false when it is not open. */
  send(
    frame: { type: "call"; state: CallState | null } | { type: "signal"; to: string; data: Record<string, unknown> },
  ): boolean;
  /** Something about the call changed: render it again. */
  changed(): void;
  /** A problem to tell the user, in plain words. */
  problem(message: string): void;
}

/** How long the call keeps a participant whose socket dropped while media still flows. */
const AWAY_GRACE_MS = 15_000;

interface Peer {
  user: User;
  state: CallState;
  pc: RTCPeerConnection;
  polite: boolean;
  makingOffer: boolean;
  ignoreOffer: boolean;
  stream: MediaStream;
  away: boolean;
  awayTimer: ReturnType<typeof setTimeout> | undefined;
}

export class Call {
  readonly #events: CallEvents;
  #me: User | null = null;
  #iceServers: IceServer[] = [];
  /** Everyone the room says is in the call, ourselves included (kept by the session). */
  readonly #members: CallMembers;
  readonly #peers = new Map<string, Peer>();
  /** What we send, once we are in the call (or joining it). */
  #state: CallState | null = null;
  /** Joined: the room has confirmed us, and offers go out. */
  #confirmed = false;
  #microphone: MediaStreamTrack | null = null;
  #camera: MediaStreamTrack | null = null;
  readonly #localStream = new MediaStream();
  /** Most people in the call at once, as the room's welcome says (null before it). */
  maxParticipants: number | null = null;

  constructor(members: CallMembers, events: CallEvents) {
    this.#members = members;
    this.#events = events;
  }

  get state(): CallState | null {
    return this.#state;
  }

  /** Who is in the call, for the page: us first, then the others in the room's order. */
  participants(): Participant[] {
    const list: Participant[] = [];
    if (this.#state !== null && this.#me !== null) {
      list.push({
        user: this.#me,
        state: this.#state,
        local: true,
        stream: this.#localStream,
        connection: "connected",
        away: false,
      });
    }
    for (const { user, state } of this.#members.values()) {
      if (user.id === this.#me?.id) continue;
      const peer = this.#peers.get(user.id);
      if (this.#state === null) continue; // not in the call: the roster shows who is
      list.push({
        user,
        state,
        local: false,
        stream: peer?.stream ?? new MediaStream(),
        connection: peer?.pc.connectionState ?? "new",
        away: false,
      });
    }
    // People who dropped off and may come back.
    for (const peer of this.#peers.values()) {
      if (peer.away && this.#members.get(peer.user.id) === undefined) {
        list.push({
          user: peer.user,
          state: peer.state,
          local: false,
          stream: peer.stream,
          connection: peer.pc.connectionState,
          away: true,
        });
      }
    }
    return list;
  }

  /** How many others are in the call, as the room knows it. */
  others(): number {
    return this.#members.others(this.#me?.id);
  }

  /** What someone sends, for the roster: ours as we send it, theirs as the room says. */
  stateOf(id: string): CallState | undefined {
    return id === this.#me?.id ? (this.#state ?? undefined) : this.#members.get(id)?.state;
  }

  // --- from the room ------------------------------------------------------

  /** A welcome: the call as it is now. After a reconnect we join it again. */
  welcome(me: User, call: CallInfo | undefined): void {
    this.#me = me;
    this.#iceServers = call?.iceServers ?? [];
    this.maxParticipants = call?.maxParticipants ?? this.maxParticipants;
    if (this.#state !== null) {
      // Back on a new socket: tell the room again what we send. Connections
      // that still carry media are kept; the room's confirmation makes us
      // offer to anyone who joined while we were away.
      this.#confirmed = false;
      this.#events.send({ type: "call", state: this.#state });
    }
    this.#events.changed();
  }

  /** Someone joined the call, changed what they send, or left it (the
   * members already say so). */
  onCallFrame(frame: CallNoticeFrame): void {
    const { user, state } = frame;
    if (user.id === this.#me?.id) {
      if (state !== null && !this.#confirmed && this.#state !== null) {
        this.#confirmed = true;
        // Everyone in the call before us gets an offer from us.
        for (const member of this.#members.values())
          if (member.user.id !== user.id) this.#peerFor(member.user, member.state, true);
      }
      return this.#events.changed();
    }
    if (state === null) {
      this.#closePeer(user.id);
    } else {
      const peer = this.#peers.get(user.id);
      if (peer !== undefined) {
        peer.state = state;
        peer.user = user;
        this.#back(peer);
      }
    }
    this.#events.changed();
  }

  /** Signalling from another participant: perfect negotiation's receiving half. */
  async onSignal(frame: SignalNoticeFrame): Promise<void> {
    if (this.#state === null) return;
    const member = this.#members.get(frame.from);
    const existing = this.#peers.get(frame.from);
    const peer = existing ?? (member === undefined ? undefined : this.#peerFor(member.user, member.state, false));
    if (peer === undefined) return;
    const { description, candidate } = frame.data as {
      description?: RTCSessionDescriptionInit;
      candidate?: RTCIceCandidateInit;
    };
    try {
      if (description !== undefined) {
        const collision = description.type === "offer" && (peer.makingOffer || peer.pc.signalingState !== "stable");
        peer.ignoreOffer = !peer.polite && collision;
        if (peer.ignoreOffer) return;
        // (A polite peer's own offer, made or on its way, is rolled back by the other's.)
        await peer.pc.setRemoteDescription(description);
        if (description.type === "offer") {
          this.#attachTracks(peer, collision);
          await peer.pc.setLocalDescription();
          this.#signal(peer, { description: peer.pc.localDescription!.toJSON() });
        }
      } else if (candidate !== undefined) {
        try {
          await peer.pc.addIceCandidate(candidate);
        } catch (error) {
          if (!peer.ignoreOffer) throw error;
        }
      }
    } catch (error) {
      console.warn(`call: signalling with ${peer.user.nick} failed`, error);
    }
  }

  /** Someone's socket closed. If media still flows, wait a little for them to come back. */
  onLeft(user: User): void {
    const peer = this.#peers.get(user.id);
    if (peer === undefined) return this.#events.changed();
    if (peer.pc.connectionState !== "connected") {
      this.#closePeer(user.id);
    } else {
      peer.away = true;
      clearTimeout(peer.awayTimer);
      peer.awayTimer = setTimeout(() => {
        if (peer.away) this.#closePeer(user.id);
        this.#events.changed();
      }, AWAY_GRACE_MS);
    }
    this.#events.changed();
  }

  onRenamed(user: User): void {
    const peer = this.#peers.get(user.id);
    if (peer !== undefined) peer.user = user;
    if (user.id === this.#me?.id) this.#me = user;
    this.#events.changed();
  }

  // --- what the user does ---------------------------------------------------

  /** Joins with the microphone on (and the camera, if asked). */
  async join(withCamera = false): Promise<void> {
    if (this.#state !== null) return;
    if (this.maxParticipants !== null && this.others() >= this.maxParticipants) {
      return this.#events.problem(`The call is full: it already has ${this.maxParticipants} people.`);
    }
    try {
      const media = await navigator.mediaDevices.getUserMedia({ audio: true, video: withCamera ? CAMERA : false });
      this.#microphone = media.getAudioTracks()[0] ?? null;
      this.#camera = media.getVideoTracks()[0] ?? null;
    } catch (error) {
      return this.#events.problem(mediaProblem(error, withCamera ? "camera and microphone" : "microphone"));
    }
    for (const track of [this.#microphone, this.#camera]) if (track !== null) this.#localStream.addTrack(track);
    this.#state = { audio: this.#microphone !== null, video: this.#camera !== null };
    this.#confirmed = false;
    // Not connected, the send fails: the welcome after the reconnect sends it again.
    this.#events.send({ type: "call", state: this.#state });
    this.#events.changed();
  }

  /** Leaves the call: every connection closed, the microphone and camera released. */
  leave(): void {
    if (this.#state === null) return;
    this.#state = null;
    this.#confirmed = false;
    this.#events.send({ type: "call", state: null });
    for (const id of [...this.#peers.keys()]) this.#closePeer(id);
    for (const track of [this.#microphone, this.#camera]) {
      if (track === null) continue;
      track.stop();
      this.#localStream.removeTrack(track);
    }
    this.#microphone = null;
    this.#camera = null;
    this.#events.changed();
  }

  /** Mutes or unmutes: a muted sender sends no audio packets at all. */
  setMuted(muted: boolean): void {
    if (this.#state === null || this.#microphone === null) return;
    this.#microphone.enabled = !muted;
    for (const peer of this.#peers.values()) void audioSender(peer.pc)?.replaceTrack(muted ? null : this.#microphone);
    this.#update({ audio: !muted, video: this.#state.video });
  }

  /** Turns the camera on (asking for it the first time) or off (releasing it). */
  async setCamera(on: boolean): Promise<void> {
    if (this.#state === null || on === (this.#camera !== null)) return;
    if (on) {
      try {
        const media = await navigator.mediaDevices.getUserMedia({ video: CAMERA });
        this.#camera = media.getVideoTracks()[0] ?? null;
      } catch (error) {
        return this.#events.problem(mediaProblem(error, "camera"));
      }
      if (this.#camera === null || this.#state === null) return;
      this.#localStream.addTrack(this.#camera);
    } else if (this.#camera !== null) {
      this.#camera.stop();
      this.#localStream.removeTrack(this.#camera);
      this.#camera = null;
    }
    for (const peer of this.#peers.values()) void videoSender(peer.pc)?.replaceTrack(this.#camera);
    this.#update({ audio: this.#state.audio, video: this.#camera !== null });
  }

  #update(state: CallState): void {
    this.#state = state;
    this.#events.send({ type: "call", state });
    this.#events.changed();
  }

  // --- connections ------------------------------------------------------------

  /** The connection to `user`, made now if there is none; `offer`: we start the negotiation. */
  #peerFor(user: User, state: CallState, offer: boolean): Peer {
    const existing = this.#peers.get(user.id);
    if (existing !== undefined) return existing;
    const pc = new RTCPeerConnection({ iceServers: this.#iceServers });
    const peer: Peer = {
      user,
      state,
      pc,
      polite: (this.#me?.id ?? "") < user.id,
      makingOffer: false,
      ignoreOffer: false,
      stream: new MediaStream(),
      away: false,
      awayTimer: undefined,
    };
    this.#peers.set(user.id, peer);
    pc.addEventListener("track", ({ track }) => {
      if (!peer.stream.getTracks().includes(track)) peer.stream.addTrack(track);
      this.#events.changed();
    });
    pc.addEventListener("icecandidate", ({ candidate }) => {
      if (candidate !== null) this.#signal(peer, { candidate: candidate.toJSON() });
    });
    pc.addEventListener("negotiationneeded", async () => {
      try {
        peer.makingOffer = true;
        await pc.setLocalDescription();
        this.#signal(peer, { description: pc.localDescription!.toJSON() });
      } catch (error) {
        console.warn(`call: offer to ${peer.user.nick} failed`, error);
      } finally {
        peer.makingOffer = false;
      }
    });
    pc.addEventListener("connectionstatechange", () => {
      if (pc.connectionState === "failed") pc.restartIce();
      // Someone away whose media stops too has gone for good.
      if (peer.away && pc.connectionState !== "connected" && pc.connectionState !== "connecting")
        this.#closePeer(user.id);
      this.#events.changed();
    });
    if (offer) {
      // Adding the transceivers fires negotiationneeded: the offer goes out.
      pc.addTransceiver(this.#microphone !== null && this.#state?.audio ? this.#microphone : "audio", {
        direction: "sendrecv",
      });
      pc.addTransceiver(this.#camera ?? "video", { direction: "sendrecv" });
    }
    this.#events.changed();
    return peer;
  }

  /**
   * After an offer: what we send goes on the transceivers it created. After
   * a rollback, again even where the track is the same: Chromium rebuilds
   * the send stream on a rollback, and a track it does not hand over anew
   * is never encoded again (the other side's video froze).
   */
  #attachTracks(peer: Peer, afterRollback = false): void {
    for (const transceiver of peer.pc.getTransceivers()) {
      if (transceiver.currentDirection === "stopped") continue;
      transceiver.direction = "sendrecv";
      const kind = transceiver.receiver.track.kind;
      const track = kind === "audio" ? (this.#state?.audio ? this.#microphone : null) : this.#camera;
      if (afterRollback && track !== null) {
        const sender = transceiver.sender;
        void sender.replaceTrack(null).then(() => sender.replaceTrack(track));
      } else if (transceiver.sender.track !== track) void transceiver.sender.replaceTrack(track);
    }
  }

  #signal(peer: Peer, data: Record<string, unknown>): void {
    this.#events.send({ type: "signal", to: peer.user.id, data });
  }

  /** They are back (their socket resumed): the connection carries on. */
  #back(peer: Peer): void {
    if (!peer.away) return;
    peer.away = false;
    clearTimeout(peer.awayTimer);
  }

  #closePeer(id: string): void {
    const peer = this.#peers.get(id);
    if (peer === undefined) return;
    clearTimeout(peer.awayTimer);
    peer.pc.close();
    this.#peers.delete(id);
  }
}

const CAMERA: MediaTrackConstraints = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24 } };

function audioSender(pc: RTCPeerConnection): RTCRtpSender | undefined {
  return pc.getTransceivers().find((t) => t.currentDirection !== "stopped" && t.receiver.track.kind === "audio")
    ?.sender;
}

function videoSender(pc: RTCPeerConnection): RTCRtpSender | undefined {
  return pc.getTransceivers().find((t) => t.currentDirection !== "stopped" && t.receiver.track.kind === "video")
    ?.sender;
}

/** getUserMedia's failures, in plain words, with what to do. */
export function mediaProblem(error: unknown, what: string): string {
  const name = error instanceof DOMException ? error.name : "";
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
      return `The browser did not allow the ${what}. Allow it for this site (the icon in the address bar), then try again.`;
    case "NotFoundError":
    case "OverconstrainedError":
      return `No ${what} was found. Plug one in, or check that it is switched on, then try again.`;
    case "NotReadableError":
    case "AbortError":
      return `The ${what} is in use by another program or could not be started. Close that program, then try again.`;
    default:
      return navigator.mediaDevices === undefined
        ? "Calls need a secure page (https:// or localhost)."
        : `Could not start the ${what}${error instanceof Error ? `: ${error.message}` : ""}.`;
  }
}
