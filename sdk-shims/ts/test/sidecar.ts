/**
 * Starts a real ax-sidecar built from this repository, for the live tests.
 *
 * The binary is `$AX_SIDECAR_BIN` when set, else `cargo build -q -p ax-sidecar` is run at the
 * workspace root (found from this file) and `target/debug/ax-sidecar` is used. A sidecar is
 * ready when it writes `READY\n` on the pipe given as `--ready-fd 3`; nothing here sleeps.
 */

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { Readable } from "node:stream";

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 30_000;

/** The Cargo workspace this shim lives in. */
export function workspaceRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const cargo = path.join(dir, "Cargo.toml");
    if (existsSync(cargo) && readFileSync(cargo, "utf8").includes("[workspace]")) {
      return dir;
    }
    if (path.dirname(dir) === dir) {
      throw new Error("no Cargo workspace above the tests");
    }
  }
}

let binary: string | undefined;

/** The sidecar binary, built once per test process when `$AX_SIDECAR_BIN` is not set. */
export function sidecarBinary(): string {
  if (binary === undefined) {
    const given = process.env["AX_SIDECAR_BIN"];
    if (given) {
      binary = given;
    } else {
      const root = workspaceRoot();
      execFileSync("cargo", ["build", "-q", "-p", "ax-sidecar"], { cwd: root, stdio: "inherit" });
      binary = path.join(root, "target", "debug", "ax-sidecar");
    }
  }
  return binary;
}

/** A short private directory (socket paths must stay under 108 bytes), removed by `cleanup`. */
export function privateDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), "axts-"));
  chmodSync(dir, 0o700);
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A secret of the sealing input: a value, or a value with its metadata. */
export type SecretSpec = string | { value: string; version?: number; updated_at?: number };

/** A random client token. */
export function newToken(): string {
  return randomBytes(16).toString("hex");
}

/** A sealed bundle in a private directory, and the sidecar serving it (when started). */
export class Sidecar {
  readonly socket: string;
  private process: ChildProcess | null = null;
  private starts = 0;

  constructor(
    readonly work: string,
    secrets: Record<string, SecretSpec>,
    overrides: Record<string, SecretSpec> = {},
    readonly token: string | null = null,
  ) {
    mkdirSync(work, { mode: 0o700, recursive: true });
    chmodSync(work, 0o700);
    this.socket = path.join(work, "run", "s.sock");
    const spec = path.join(work, "secrets.json");
    writeFileSync(spec, JSON.stringify({ secrets, overrides }));
    execFileSync(
      sidecarBinary(),
      [
        "seal",
        "--input",
        spec,
        "--key-file",
        path.join(work, "key"),
        "--output",
        path.join(work, "bundle"),
        "--new-key",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    if (token !== null) {
      writeFileSync(path.join(work, "token"), token, { mode: 0o600, flag: "wx" });
    }
  }

  /** Starts the sidecar and resolves once it wrote `READY`. */
  async start(): Promise<void> {
    this.starts += 1;
    const logPath = path.join(this.work, `sidecar-${this.starts}.log`);
    const args = [
      "serve",
      "--socket",
      this.socket,
      "--bundle-file",
      path.join(this.work, "bundle"),
      "--key-file",
      path.join(this.work, "key"),
      "--audit-file",
      path.join(this.work, "audit.jsonl"),
      "--ready-fd",
      "3",
    ];
    if (this.token !== null) {
      args.push("--client-token-file", path.join(this.work, "token"));
    }
    const log = openSync(logPath, "w");
    const child = spawn(sidecarBinary(), args, { stdio: ["ignore", log, log, "pipe"] });
    closeSync(log);
    this.process = child;
    const ready = await readLine(child.stdio[3] as Readable, START_TIMEOUT_MS);
    if (ready !== "READY\n") {
      child.kill("SIGKILL");
      await exited(child);
      this.process = null;
      throw new Error(
        `the sidecar did not become ready (read ${JSON.stringify(ready)}):\n` +
          readFileSync(logPath, "utf8"),
      );
    }
  }

  /** Stops the sidecar with SIGTERM; resolves with its exit code. */
  async stop(): Promise<number | null> {
    const child = this.process;
    if (child === null) {
      return 0;
    }
    this.process = null;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
    const code = await exited(child);
    clearTimeout(timer);
    return code;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve(child.exitCode);
  }
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

/** Reads `stream` until a line feed, its end, or the timeout; destroys it then. */
function readLine(stream: Readable, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    let data = "";
    const done = (): void => {
      clearTimeout(timer);
      stream.removeAllListeners("data");
      stream.destroy();
      resolve(data);
    };
    const timer = setTimeout(done, timeoutMs);
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      data += chunk;
      if (data.includes("\n")) {
        done();
      }
    });
    stream.once("end", done);
    stream.once("error", done);
  });
}

/** Every sidecar started through it, stopped (and its directory removed) by `stopAll`. */
export class Sidecars {
  private readonly started: Sidecar[] = [];
  private readonly base = privateDir();
  private count = 0;

  async start(
    secrets: Record<string, SecretSpec>,
    overrides: Record<string, SecretSpec> = {},
    token: string | null = null,
  ): Promise<Sidecar> {
    const sidecar = new Sidecar(
      path.join(this.base.dir, `s${this.count++}`),
      secrets,
      overrides,
      token,
    );
    this.started.push(sidecar);
    await sidecar.start();
    return sidecar;
  }

  /** A path in the private directory where nothing listens. */
  nowhere(): string {
    return path.join(this.base.dir, "nobody.sock");
  }

  async stopAll(): Promise<void> {
    for (const sidecar of this.started) {
      await sidecar.stop();
    }
    this.base.cleanup();
  }
}
