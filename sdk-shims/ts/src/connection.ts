/**
 * One Unix-socket connection to the sidecar: connect, write frames, read frames, and keep the
 * requests in flight on it, in order.
 *
 * This layer knows nothing of handshakes or retries (see client.ts); it reports what happens on
 * the socket to its owner, and tells apart the requests that were written (the kernel took
 * every byte: the write callback said so) from those that were not, which is what the retry
 * rules of PROTOCOL §7.4 turn on. Reads go into one reused buffer (`onread`), so answers cost
 * no allocation beyond the strings they carry.
 */

import * as net from "node:net";

import { WireError } from "./errors";
import { FrameDecoder } from "./decoder";
import { MAX_RESPONSE_FRAME } from "./limits";

/** Bytes of the reused read buffer. */
const READ_BUFFER = 64 * 1024;

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

  private readonly socket: net.Socket;
  private readonly decoder: FrameDecoder;
  private readonly inFlight: T[] = [];
  private head = 0;
  private sent = 0;
  private written = 0;
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
      this.connected = true;
      events.connected(this);
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

  /** Writes one whole frame (one write call) and queues `request`; returns its write number. */
  send(frame: Buffer, request: T): number {
    const seq = this.sent++;
    this.socket.write(frame, this.onWritten);
    if (this.length === 0) {
      // Keep the process alive while an answer is awaited, and only then.
      this.socket.ref();
    }
    this.inFlight.push(request);
    return seq;
  }

  /** Whether the write numbered `seq` was taken by the kernel whole. */
  wasWritten(seq: number): boolean {
    return seq < this.written;
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
    // Write callbacks come in write order; after the first failure every later one fails.
    if (error === undefined || error === null) {
      this.written += 1;
    }
  };

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
