/**
 * A scripted stand-in for the sidecar, for the client's edge cases: a Unix-socket server in
 * the test process, each connection handed to a test-supplied async function with helpers to
 * read requests and write responses.
 */

import * as net from "node:net";
import * as path from "node:path";

import { FrameDecoder } from "../src/decoder";
import { MAX_REQUEST_FRAME, PROTOCOL_VERSION } from "../src/limits";
import type { ErrorCode, Request, Response } from "../src/messages";
import { decodeRequest, encodeResponse, frame } from "../src/wire";
import { privateDir } from "./sidecar";

/** One accepted connection, seen from the fake sidecar. */
export class Peer {
  private readonly frames: Buffer[] = [];
  private waiter: (() => void) | null = null;
  private ended = false;

  constructor(
    readonly socket: net.Socket,
    private readonly received: Request[] = [],
  ) {
    const decoder = new FrameDecoder(MAX_REQUEST_FRAME, (body) => {
      this.frames.push(Buffer.from(body));
      this.wake();
      return true;
    });
    socket.on("data", (chunk: Buffer) => decoder.push(chunk));
    socket.on("end", () => {
      this.ended = true;
      this.wake();
    });
    socket.on("error", () => {
      this.ended = true;
      this.wake();
    });
  }

  /** The next request (recorded by the fake unless a `Hello`), or `null` once the client hung up. */
  async read(): Promise<Request | null> {
    while (this.frames.length === 0) {
      if (this.ended) {
        return null;
      }
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    const request = decodeRequest(this.frames.shift()!);
    if (request.type !== "Hello") {
      this.received.push(request);
    }
    return request;
  }

  /** Resolves once the client's next bytes have arrived, without taking them. */
  async arrived(): Promise<void> {
    while (this.frames.length === 0 && !this.ended) {
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  /** Reads `count` requests (none may be missing). */
  async readMany(count: number): Promise<Request[]> {
    const out: Request[] = [];
    for (let i = 0; i < count; i++) {
      const request = await this.read();
      if (request === null) {
        throw new Error(`the client hung up after ${i} of ${count} requests`);
      }
      out.push(request);
    }
    return out;
  }

  answer(response: Response): void {
    this.socket.write(frame(encodeResponse(response)));
  }

  /** Answers a `Hello` and returns it. */
  async handshake(): Promise<Request> {
    const hello = await this.read();
    if (hello === null || hello.type !== "Hello") {
      throw new Error(`expected Hello, got ${JSON.stringify(hello)}`);
    }
    this.answer({
      id: hello.id,
      type: "Hello",
      version: PROTOCOL_VERSION,
      sidecar: "fake/0",
      executionId: "exec-fake",
    });
    return hello;
  }

  error(id: number, code: ErrorCode): void {
    this.answer({ id, type: "Error", code, message: `${code} from the fake` });
  }

  /** Answers every Get with `value` until the client hangs up. */
  async serveGets(value: string | null = "v"): Promise<void> {
    for (;;) {
      const request = await this.read();
      if (request === null) {
        return;
      }
      this.answer({ id: request.id, type: "Secret", value });
    }
  }

  /** Whether the client hung up (resolves once it did, or with false if it sends more). */
  async hungUp(): Promise<boolean> {
    return (await this.read()) === null;
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.();
  }
}

/** Serves connection number `i` (from 0) with `script(i, peer)`, then closes it. */
export class FakeSidecar {
  readonly path: string;
  connections = 0;
  /** Every request a peer read, `Hello`s left out, in order. */
  readonly requests: Request[] = [];
  private closedCount = 0;
  private readonly closeWaiters: (() => void)[] = [];
  private readonly server: net.Server;
  private readonly dir = privateDir();
  private readonly failures: unknown[] = [];
  private readonly running: Promise<void>[] = [];

  private constructor(script: (index: number, peer: Peer) => Promise<void>) {
    this.path = path.join(this.dir.dir, "s.sock");
    this.server = net.createServer((socket) => {
      const index = this.connections++;
      const peer = new Peer(socket, this.requests);
      socket.once("close", () => {
        this.closedCount += 1;
        this.closeWaiters.splice(0).forEach((wake) => wake());
      });
      this.running.push(
        script(index, peer)
          .catch((error: unknown) => {
            this.failures.push(error);
          })
          .finally(() => socket.end()),
      );
    });
  }

  static async start(script: (index: number, peer: Peer) => Promise<void>): Promise<FakeSidecar> {
    const fake = new FakeSidecar(script);
    await new Promise<void>((resolve) => fake.server.listen(fake.path, resolve));
    return fake;
  }

  /** Resolves once `count` connections are closed on the fake's side. */
  async closed(count: number): Promise<void> {
    while (this.closedCount < count) {
      await new Promise<void>((resolve) => this.closeWaiters.push(resolve));
    }
  }

  /** Stops listening, waits for every script, and rethrows the first failure of one. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.all(this.running);
    this.dir.cleanup();
    if (this.failures.length > 0) {
      throw this.failures[0];
    }
  }
}
