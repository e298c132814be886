/**
 * A WebSocket that does what the test says and records what is sent: for
 * the client core's tests in Node (vi.stubGlobal("WebSocket", StubSocket)).
 */
export class StubSocket extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 3;
  static all: StubSocket[] = [];
  readyState = StubSocket.CONNECTING;
  readonly sent: string[] = [];
  closedWith: number | undefined;

  constructor(readonly url: string) {
    super();
    StubSocket.all.push(this);
  }
  send(data: string): void {
    this.sent.push(data);
  }
  close(code = 1005): void {
    this.closedWith = code;
  }
  open(): void {
    this.readyState = StubSocket.OPEN;
    this.dispatchEvent(new Event("open"));
  }
  /** Sent frames, parsed. */
  get frames(): Record<string, unknown>[] {
    return this.sent.flatMap((data) => (data === "ping" ? [] : [JSON.parse(data) as Record<string, unknown>]));
  }
  receive(frame: object): void {
    this.dispatchEvent(Object.assign(new Event("message"), { data: JSON.stringify(frame) }));
  }
  /** The server or the network ends it: an optional error, then close. */
  end(code: number, withError = false, withClose = true): void {
    this.readyState = StubSocket.CLOSED;
    if (withError) this.dispatchEvent(new Event("error"));
    if (withClose) this.dispatchEvent(Object.assign(new Event("close"), { code }));
  }
}
