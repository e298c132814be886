/**
 * The built terminal client (dist/edge-chat.mjs, see build.ts) as a child
 * process with piped stdio, so neither stdin nor stdout is a TTY: exactly
 * how a script or CI uses it. Waits are bounded and fail with what the
 * client printed.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { fileURLToPath } from "node:url";

export const CLI = fileURLToPath(new URL("../../dist/edge-chat.mjs", import.meta.url));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class CliProcess {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = "";
  stderr = "";
  readonly #exited: Promise<Exit>;
  #wake: (() => void)[] = [];

  constructor(args: string[], env: Record<string, string | undefined> = {}) {
    // The same Node that runs the tests (the system one may be too old).
    this.child = spawn(process.execPath, [CLI, ...args], { stdio: "pipe", env: { ...process.env, ...env } });
    this.child.stdout.setEncoding("utf8").on("data", (chunk: string) => this.#got(() => (this.stdout += chunk)));
    this.child.stderr.setEncoding("utf8").on("data", (chunk: string) => this.#got(() => (this.stderr += chunk)));
    this.#exited = new Promise((resolve) => this.child.once("exit", (code, signal) => resolve({ code, signal })));
  }

  #got(append: () => void): void {
    append();
    for (const wake of this.#wake.splice(0)) wake();
  }

  /** Writes lines to the client's stdin. */
  write(...lines: string[]): void {
    this.child.stdin.write(lines.map((line) => `${line}\n`).join(""));
  }

  /** Ends stdin (the end of a pipe, like Ctrl-D). */
  end(...lines: string[]): void {
    this.child.stdin.end(lines.map((line) => `${line}\n`).join(""));
  }

  /** Waits until stdout (or stderr) matches `pattern`. */
  async waitFor(pattern: RegExp | string, ms = 10_000, stream: "stdout" | "stderr" = "stdout"): Promise<void> {
    const deadline = Date.now() + ms;
    const matches = () => (typeof pattern === "string" ? this[stream].includes(pattern) : pattern.test(this[stream]));
    while (!matches()) {
      const left = deadline - Date.now();
      if (left <= 0 || this.child.exitCode !== null) {
        throw new Error(
          `${stream} never showed ${String(pattern)} within ${ms} ms.\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.#wake.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The exit, within `ms` (else the process is killed and the wait fails). */
  async exit(ms = 15_000): Promise<Exit> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.child.kill("SIGKILL");
        reject(new Error(`the client did not exit within ${ms} ms.\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`));
      }, ms);
    });
    try {
      return await Promise.race([this.#exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }
}

/** Message lines the client printed (its human format: "HH:MM Nick: text"). */
export const chatLines = (output: string): string[] =>
  output.split("\n").map((line) => line.replace(/^\d\d:\d\d /, ""));
