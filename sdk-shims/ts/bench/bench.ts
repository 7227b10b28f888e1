/**
 * What one `get` costs through the shim, next to a raw round trip of the same bytes.
 *
 * Usage: `node dist/bench/bench.js ECHO_SOCKET NAME CALLS` with `AX_SECRETS_SOCKET` (and
 * `AX_SECRETS_TOKEN`) set for a real sidecar. ECHO_SOCKET answers a Hello frame with a Hello
 * response and any other frame with the sidecar's response bytes for Get(NAME). After 1000
 * warm-up calls of each, blocks of 1000 raw and 1000 shim calls alternate until CALLS of each;
 * every call is timed with `process.hrtime.bigint`. Prints one JSON line.
 *
 * The raw round trip is the least a Node.js program spends on it: one `write` of the frame,
 * reads into one reused buffer (`onread`), a promise resolved when the whole answer is in.
 */

import * as net from "node:net";

import { AxiomContext } from "../src/index";
import { CLIENT_NAME, PROTOCOL_VERSION, TOKEN_ENV } from "../src/limits";
import { encodeGetFrame, encodeRequest, frame } from "../src/wire";

const BLOCK = 1000;
const WARM_UP = 1000;

/** A bare socket that sends a frame and waits for one whole answer frame. */
class RawClient {
  private readonly socket: net.Socket;
  private readonly header = Buffer.alloc(4);
  private headerHave = 0;
  /** Body bytes still to come of the answer being read; -1 while its prefix is read. */
  private need = -1;
  private waiting: (() => void) | null = null;

  private constructor(socket: net.Socket) {
    this.socket = socket;
  }

  static connect(path: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      let client: RawClient | null = null;
      const socket = net.createConnection({
        path,
        onread: {
          buffer: Buffer.allocUnsafe(64 * 1024),
          callback: (size: number, buffer: Uint8Array): boolean => {
            client?.received(size, buffer);
            return true;
          },
        },
      });
      client = new RawClient(socket);
      socket.once("connect", () => resolve(client!));
      socket.once("error", reject);
    });
  }

  roundTrip(request: Buffer): Promise<void> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.socket.write(request);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private received(size: number, buffer: Uint8Array): void {
    let pos = 0;
    while (pos < size) {
      if (this.need < 0) {
        const take = Math.min(4 - this.headerHave, size - pos);
        this.header.set(buffer.subarray(pos, pos + take), this.headerHave);
        this.headerHave += take;
        pos += take;
        if (this.headerHave < 4) {
          return;
        }
        this.headerHave = 0;
        this.need = this.header.readUInt32BE(0);
      } else {
        const take = Math.min(this.need, size - pos);
        this.need -= take;
        pos += take;
      }
      if (this.need === 0) {
        this.need = -1;
        const done = this.waiting;
        this.waiting = null;
        done?.();
      }
    }
  }
}

async function timed(call: () => Promise<unknown>, count: number, into: number[]): Promise<void> {
  const clock = process.hrtime.bigint;
  for (let i = 0; i < count; i++) {
    const start = clock();
    await call();
    into.push(Number(clock() - start));
  }
}

function percentile(samples: number[], fraction: number): number {
  const ordered = Float64Array.from(samples).sort();
  return ordered[Math.min(ordered.length - 1, Math.floor(fraction * ordered.length))]!;
}

async function main(argv: string[]): Promise<number> {
  if (argv.length !== 3) {
    process.stderr.write("usage: bench.js ECHO_SOCKET NAME CALLS\n");
    return 64;
  }
  const [echoPath, name, callsText] = argv as [string, string, string];
  const calls = Number.parseInt(callsText, 10);

  const raw = await RawClient.connect(echoPath);
  const token = process.env[TOKEN_ENV] || null;
  const hello = frame(
    encodeRequest({ id: 0, type: "Hello", version: PROTOCOL_VERSION, client: CLIENT_NAME, token }),
  );
  await raw.roundTrip(hello);
  const getFrame = encodeGetFrame(1, name);
  const rawCall = (): Promise<void> => raw.roundTrip(getFrame);

  const ax = new AxiomContext();
  if (!(await ax.secrets.get(name))[1]) {
    process.stderr.write(`the sidecar has no secret named ${name}\n`);
    return 1;
  }
  const shimCall = (): Promise<unknown> => ax.secrets.get(name);

  await timed(rawCall, WARM_UP, []);
  await timed(shimCall, WARM_UP, []);
  const rawNs: number[] = [];
  const shimNs: number[] = [];
  while (rawNs.length < calls) {
    const block = Math.min(BLOCK, calls - rawNs.length);
    await timed(rawCall, block, rawNs);
    await timed(shimCall, block, shimNs);
  }
  raw.close();
  await ax.close();
  const figures = {
    lang: "ts",
    calls,
    raw_p50_ns: percentile(rawNs, 0.5),
    raw_p99_ns: percentile(rawNs, 0.99),
    shim_p50_ns: percentile(shimNs, 0.5),
    shim_p99_ns: percentile(shimNs, 0.99),
  };
  process.stdout.write(JSON.stringify(figures) + "\n");
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench failed: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
