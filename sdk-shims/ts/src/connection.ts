/**
 * One Unix-socket connection to the sidecar: connect, write frames, read frames, and keep the
 * requests in flight on it, in order.
 *
 * This layer knows nothing of handshakes or retries (see client.ts); it reports what happens on
 * the socket to its owner, and what the resend rule of PROTOCOL §7.4 turns on: whether the peer
 * closed the connection or its owner dropped it, and whether any byte of an answer had arrived.
 * Reads go into one reused buffer (`onread`), so answers cost no allocation beyond the strings
 * they carry.
 *
 * A write that fails because the peer closed (EPIPE, ECONNRESET) makes Node destroy the socket
 * before it reads what the peer left in the receive buffer; but a sidecar that refuses a
 * connection (`Busy`, a uid it does not allow) or shuts down writes an id-0 `Error` and then
 * closes, and that frame is the answer (§7.3). So on such a failure the connection reads the
 * socket itself, synchronously, before Node closes it.
 */

import * as fs from "node:fs";
import * as net from "node:net";

import { WireError } from "./errors";
import { FrameDecoder } from "./decoder";
import { MAX_RESPONSE_FRAME } from "./limits";
import type { ErrorCode } from "./messages";

/** Bytes of the reused read buffer. */
const READ_BUFFER = 64 * 1024;

/**
 * For tests only: when set, a connection that has connected stops reading and waits for the
 * returned promise before its owner writes the `Hello`, so a test can have its fake sidecar
 * close first and make that write fail.
 */
export const testHooks: { connected: (() => Promise<void>) | null } = { connected: null };

/** Whether a socket error says the peer has closed the connection. */
function peerClosed(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "EPIPE" || code === "ECONNRESET";
}

/** What a connection tells its owner. Each method is called on the socket's events. */
export interface ConnectionEvents<T> {
  /** The socket connected: the handshake may be written. */
  connected(conn: Connection<T>): void;
  /** A whole frame's body; return `false` to stop reading (the connection was dropped). */
  frame(conn: Connection<T>, body: Buffer): boolean;
  /** The stream could not be read as frames (a frame over the response limit). */
  malformed(conn: Connection<T>, error: WireError): void;
  /** The peer ended the stream; `closed` follows. */
  ended(conn: Connection<T>): void;
  /** No byte came or went for the configured timeout while requests were in flight. */
  timedOut(conn: Connection<T>): void;
  /** The socket is closed; `reason` says why, `connectError` is set when it never connected. */
  closed(conn: Connection<T>, reason: string, connectError: unknown): void;
}

/**
 * A connected stream socket with its queue of requests in flight (`T`), oldest first.
 * Not for sharing: one client owns it.
 */
export class Connection<T> {
  /** Whether the socket has connected. */
  connected = false;
  /** Whether new requests may be written on it (false once it is ending or dropped). */
  usable = true;
  /** Set by the owner's `close()`: requests still in flight are failed as closed. */
  closedByCaller = false;
  /** Requests (not the `Hello`) answered on it: once there is one, the connection is reused. */
  answered = 0;
  /** The code of a connection-level `Error` (id 0) it received; the sidecar closes after it. */
  refusedWith: ErrorCode | undefined = undefined;

  private readonly socket: net.Socket;
  private readonly decoder: FrameDecoder;
  private readonly inFlight: T[] = [];
  private head = 0;
  private salvaged = false;
  private dropReason: string | null = null;
  private lastError: unknown = undefined;
  private readonly whenClosed: Promise<void>;

  constructor(
    readonly path: string,
    private readonly events: ConnectionEvents<T>,
    timeoutMs: number | undefined,
  ) {
    this.decoder = new FrameDecoder(MAX_RESPONSE_FRAME, (body) => events.frame(this, body));
    this.socket = net.createConnection({
      path,
      onread: {
        buffer: Buffer.allocUnsafe(READ_BUFFER),
        callback: (size: number, buffer: Uint8Array): boolean => this.onRead(size, buffer),
      },
    });
    if (timeoutMs !== undefined) {
      this.socket.setTimeout(timeoutMs, () => {
        if (this.length > 0 || !this.connected) {
          events.timedOut(this);
        }
      });
    }
    this.socket.once("connect", () => {
      const hook = testHooks.connected;
      if (hook === null) {
        this.connected = true;
        events.connected(this); // before Node starts reading: see salvage()
        return;
      }
      this.socket.pause();
      void hook().then(() => {
        this.socket.resume();
        this.connected = true;
        events.connected(this);
      });
    });
    this.socket.on("error", (error: unknown) => {
      this.lastError = error;
    });
    this.socket.once("end", () => {
      this.usable = false;
      events.ended(this);
    });
    this.whenClosed = new Promise((resolve) => {
      this.socket.once("close", () => {
        this.usable = false;
        events.closed(this, this.closeReason(), this.connected ? undefined : this.lastError);
        resolve();
      });
    });
  }

  /** Requests in flight. */
  get length(): number {
    return this.inFlight.length - this.head;
  }

  /** Writes one whole frame (one write call) and queues `request`. */
  send(frame: Buffer, request: T): void {
    this.inFlight.push(request);
    if (this.length === 1) {
      // Keep the process alive while an answer is awaited, and only then.
      this.socket.ref();
    }
    this.socket.write(frame, this.onWritten);
  }

  /** Whether some bytes of a frame have arrived, and not the whole of it. */
  get answerBegan(): boolean {
    return this.decoder.inFrame;
  }

  /** Whether its owner dropped it (not the peer closing it). */
  get droppedByUs(): boolean {
    return this.dropReason !== null;
  }

  /** The oldest request in flight, taken off the queue; `undefined` when there is none. */
  shift(): T | undefined {
    if (this.head >= this.inFlight.length) {
      return undefined;
    }
    const request = this.inFlight[this.head]!;
    this.head += 1;
    if (this.head === this.inFlight.length) {
      this.inFlight.length = 0;
      this.head = 0;
      this.socket.unref();
    } else if (this.head >= 1024 && this.head * 2 >= this.inFlight.length) {
      this.inFlight.splice(0, this.head);
      this.head = 0;
    }
    return request;
  }

  /** Every request still in flight, oldest first, leaving the queue empty. */
  drain(): T[] {
    const rest = this.inFlight.slice(this.head);
    this.inFlight.length = 0;
    this.head = 0;
    return rest;
  }

  /** Lets the process exit while nothing is in flight. */
  idle(): void {
    if (this.length === 0) {
      this.socket.unref();
    }
  }

  /** Closes the socket now; `closed` follows with `reason` (the first one given wins). */
  drop(reason: string): void {
    this.usable = false;
    this.dropReason ??= reason;
    this.socket.destroy();
  }

  /** Resolves once the socket is closed. */
  closed(): Promise<void> {
    return this.whenClosed;
  }

  private readonly onWritten = (error?: Error | null): void => {
    // Node calls this before it destroys the socket for the failure.
    if (error !== undefined && error !== null && peerClosed(error) && !this.salvaged) {
      this.salvaged = true;
      this.lastError = error;
      this.salvage();
    }
  };

  /**
   * Reads, synchronously, what a peer that closed left in the receive buffer, and hands its
   * frames on as reads would. The socket is non-blocking: an empty buffer throws EAGAIN.
   */
  private salvage(): void {
    const fd = (this.socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
    if (typeof fd !== "number" || fd < 0) {
      return;
    }
    const buffer = Buffer.allocUnsafe(READ_BUFFER);
    for (;;) {
      let size: number;
      try {
        size = fs.readSync(fd, buffer, 0, buffer.length, null);
      } catch {
        return; // EAGAIN (nothing left) or ECONNRESET
      }
      if (size === 0 || !this.onRead(size, buffer) || this.socket.destroyed) {
        return;
      }
    }
  }

  private onRead(size: number, buffer: Uint8Array): boolean {
    const chunk = Buffer.from(buffer.buffer, buffer.byteOffset, size);
    try {
      this.decoder.push(chunk);
    } catch (error) {
      if (error instanceof WireError) {
        this.events.malformed(this, error);
        return false;
      }
      throw error;
    }
    return true;
  }

  private closeReason(): string {
    if (this.dropReason !== null) {
      return this.dropReason;
    }
    if (this.decoder.inFrame) {
      return "end of stream inside a frame";
    }
    if (this.lastError !== undefined) {
      const code = (this.lastError as { code?: unknown }).code;
      return typeof code === "string" ? code : "socket error";
    }
    return "end of stream";
  }
}
