/**
 * The sidecar client: lazy connection, handshake, request ids, pipelining, reconnection, errors.
 *
 * One connection per client, shared by every call: requests are written as they come, without
 * waiting for earlier answers, and the sidecar answers them in order (PROTOCOL §7.2), so each
 * answer belongs to the oldest request in flight and must carry its id. The rules of §7:
 *
 * - The handshake is done once per connection; calls made while it runs wait for it. The
 *   `Hello` goes with id 1 (`HELLO_ID`): an `Unauthorized` with id 0 came before the sidecar
 *   read it (this process's uid may not connect), one under id 1 is the token's.
 * - When a write fails because the peer closed, the frame it left is still read (see
 *   connection.ts): a connection-level `Error` (id 0) is what is reported, with its code.
 * - **Resend once.** Every request is idempotent (§7.1). A request written on a *reused*
 *   connection (one that had already answered a request) that fails before any byte of its
 *   answer arrived (the peer closed the connection, or sent an id-0 `ShuttingDown`) is sent once
 *   more on a fresh connection. Never on a fresh connection, never twice, never once its answer
 *   has begun, never when the client itself dropped the connection (a timeout, a bad answer).
 * - `ShuttingDown` under the request's id means "not served": sent once more too. A request
 *   that found its connection ended before it was written goes to a fresh one. `Busy` and
 *   `Unauthorized` are never retried.
 * - A response whose id is not the request's, a malformed response or an unexpected kind of
 *   answer drops the connection (the stream is out of step); requests behind it fail.
 */

import { inspect } from "node:util";

import { Connection, type ConnectionEvents } from "./connection";
import * as errors from "./errors";
import { SecretsUnavailableError, type WireError } from "./errors";
import {
  CLIENT_NAME,
  HELLO_ID,
  MAX_REQUEST_ID,
  MAX_SOCKET_PATH,
  MAX_TOKEN_LEN,
  PROTOCOL_VERSION,
  SOCKET_ENV,
  TOKEN_ENV,
} from "./limits";
import type { ErrorCode, ErrorResponse, Response, ResponseType } from "./messages";
import { decodeResponse, encodeRequest, frame } from "./wire";

/** Codes after which the sidecar keeps the connection open (PROTOCOL §6.6). */
const KEEPS_OPEN: ReadonlySet<ErrorCode> = new Set<ErrorCode>(["Internal", "TooLarge"]);

/** How a `SidecarClient` is configured; every field is optional. */
export interface ClientOptions {
  /** The socket path; default `$AX_SECRETS_SOCKET`, read at the first call. */
  readonly socket?: string | undefined;
  /** The client token; default `$AX_SECRETS_TOKEN` (unset or empty: none). */
  readonly token?: string | undefined;
  /** Milliseconds without progress while connecting or awaiting an answer; default none. */
  readonly timeoutMs?: number | undefined;
}

/** The handshake was answered "not served": worth one more try on a fresh connection. */
class NotServed {
  constructor(readonly code: ErrorCode) {}
}

/** One request of a caller, from its frame to its settled promise. */
class Call {
  /** Whether the connection it was last written on had already answered a request. */
  reused = false;
  /** Whether it was already sent once more on a fresh connection. */
  retried = false;

  constructor(
    readonly kind: string,
    readonly expect: ResponseType,
    readonly id: number,
    readonly frame: Buffer,
    private readonly convert: (response: Response) => unknown,
    private readonly resolve: (value: unknown) => void,
    readonly reject: (error: unknown) => void,
  ) {}

  /** Settles the caller's promise with the answer. */
  answer(response: Response): void {
    this.resolve(this.convert(response));
  }
}

const asIs = (response: Response): Response => response;

type Link = Connection<Call> & { handshake?: Handshake };

interface Handshake {
  resolve(conn: Link): void;
  reject(error: unknown): void;
}

/** Speaks protocol v2 to one sidecar; connects on the first call. */
export class SidecarClient {
  #path: string | undefined;
  #token: string | null;
  readonly #tokenGiven: boolean;
  readonly #timeoutMs: number | undefined;
  #configured = false;
  #conn: Link | null = null;
  #opening: Promise<Link> | null = null;
  #openingConn: Link | null = null;
  #nextId = 1;
  readonly #events: ConnectionEvents<Call>;

  constructor(options: ClientOptions = {}) {
    this.#path = options.socket;
    this.#token = options.token || null;
    this.#tokenGiven = options.token !== undefined;
    this.#timeoutMs = options.timeoutMs;
    this.#events = {
      connected: (conn) => this.#connected(conn),
      frame: (conn, body) => this.#frame(conn, body),
      malformed: (conn, error) => this.#malformed(conn, error),
      ended: (conn) => this.#retire(conn),
      timedOut: (conn) => this.#timedOut(conn),
      closed: (conn, reason, connectError) => this.#closed(conn, reason, connectError),
    };
  }

  /** The socket path, once known (after the first call when taken from the environment). */
  get socketPath(): string | undefined {
    return this.#path;
  }

  /** A fresh request id: 1 to 2^32 - 1, then 1 again (0 is the sidecar's connection-level id). */
  takeId(): number {
    const id = this.#nextId;
    this.#nextId = id < MAX_REQUEST_ID ? id + 1 : 1;
    return id;
  }

  /**
   * Sends `frame` (a request of kind `kind` with id `id`) and resolves with `convert` of the
   * answer, which is of type `expect`. Every other outcome rejects with
   * `SecretsUnavailableError`. (Converting here saves the hot path a second promise.)
   */
  call<T>(
    kind: string,
    expect: ResponseType,
    id: number,
    frame: Buffer,
    convert: (response: Response) => T,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // `resolve` only ever gets what `convert` returned: a T.
      const settle = resolve as (value: unknown) => void;
      this.#dispatch(new Call(kind, expect, id, frame, convert, settle, reject));
    });
  }

  /** Closes the connection; requests in flight reject, and a later call connects again. */
  async close(): Promise<void> {
    const links = [this.#conn, this.#openingConn].filter((c): c is Link => c !== null);
    this.#conn = null;
    this.#opening = null;
    this.#openingConn = null;
    for (const link of links) {
      link.closedByCaller = true;
      link.drop("closed by the caller");
    }
    await Promise.all(links.map((link) => link.closed()));
  }

  toJSON(): { socket: string | null } {
    return { socket: this.#path ?? null };
  }

  [inspect.custom](): string {
    return `SidecarClient { socket: ${inspect(this.#path ?? null)} }`;
  }

  // ----------------------------------------------------------------------------------------
  // Sending.

  #dispatch(call: Call): void {
    const conn = this.#conn;
    if (conn !== null) {
      this.#send(conn, call);
      return;
    }
    this.#ready().then(
      (ready) => this.#send(ready, call),
      (error: unknown) => this.#setupFailed(call, error),
    );
  }

  #send(conn: Link, call: Call): void {
    if (!conn.usable) {
      this.#notSent(call);
      return;
    }
    call.reused = conn.answered > 0;
    conn.send(call.frame, call);
  }

  #notSent(call: Call): void {
    if (call.retried) {
      call.reject(this.#error(errors.BROKEN_TWICE));
      return;
    }
    call.retried = true;
    this.#dispatch(call);
  }

  #notServed(call: Call, code: ErrorCode): void {
    if (call.retried) {
      call.reject(this.#error(errors.notServedTwice(code), code));
      return;
    }
    call.retried = true;
    this.#dispatch(call);
  }

  /** Sends `call` once more after its connection closed before answering it. */
  #resend(call: Call, reason: string): void {
    if (call.retried) {
      call.reject(this.#error(errors.closedResent(call.kind, reason)));
      return;
    }
    call.retried = true;
    this.#dispatch(call);
  }

  /** Settles `call` after a connection-level `Error` (id 0) with `code`. */
  #connectionError(call: Call, code: ErrorCode): void {
    if (code === "ShuttingDown" && call.reused) {
      this.#notServed(call, code);
    } else if (code === "Unauthorized") {
      call.reject(this.#error(errors.uidRefused(process.getuid?.() ?? -1), code));
    } else if (code === "Busy") {
      call.reject(this.#error(errors.BUSY, code));
    } else {
      call.reject(this.#error(errors.errorAnswer(call.kind, code), code));
    }
  }

  #setupFailed(call: Call, error: unknown): void {
    if (error instanceof NotServed) {
      this.#notServed(call, error.code);
    } else {
      call.reject(error);
    }
  }

  // ----------------------------------------------------------------------------------------
  // Connecting and the handshake.

  #ready(): Promise<Link> {
    if (this.#opening !== null) {
      return this.#opening;
    }
    let path: string;
    try {
      path = this.#configure();
    } catch (error) {
      return Promise.reject(error);
    }
    const opening = new Promise<Link>((resolve, reject) => {
      const conn: Link = new Connection<Call>(path, this.#events, this.#timeoutMs);
      conn.handshake = {
        resolve: (ready) => {
          this.#conn = ready;
          resolve(ready);
        },
        reject,
      };
      this.#openingConn = conn;
    });
    const settled = (): void => {
      if (this.#opening === opening) {
        this.#opening = null;
        this.#openingConn = null;
      }
    };
    opening.then(settled, settled);
    this.#opening = opening;
    return opening;
  }

  #configure(): string {
    if (!this.#configured) {
      this.#path ??= process.env[SOCKET_ENV] || undefined;
      if (!this.#tokenGiven) {
        this.#token = process.env[TOKEN_ENV] || null;
      }
      this.#configured = true;
    }
    if (this.#path === undefined) {
      throw new SecretsUnavailableError(undefined, errors.noSocketConfigured(SOCKET_ENV));
    }
    const pathSize = Buffer.byteLength(this.#path, "utf8");
    if (pathSize > MAX_SOCKET_PATH) {
      const message = errors.socketPathTooLong(this.#path, pathSize, MAX_SOCKET_PATH);
      throw new SecretsUnavailableError(this.#path, message);
    }
    const tokenSize = this.#token === null ? 0 : Buffer.byteLength(this.#token, "utf8");
    if (tokenSize > MAX_TOKEN_LEN) {
      // PROTOCOL §9; the sidecar would refuse it anyway, after a round trip.
      throw this.#error(errors.tokenTooLong(tokenSize, MAX_TOKEN_LEN));
    }
    return this.#path;
  }

  #connected(conn: Link): void {
    const hello = frame(
      encodeRequest({
        id: HELLO_ID,
        type: "Hello",
        version: PROTOCOL_VERSION,
        client: CLIENT_NAME,
        token: this.#token,
      }),
    );
    const handshake = conn.handshake!;
    const call = new Call(
      "Hello",
      "Hello",
      HELLO_ID,
      hello,
      asIs,
      (response) => this.#handshook(conn, response as Response),
      (error) => handshake.reject(error),
    );
    call.retried = true; // the handshake itself is never resent
    conn.send(hello, call);
  }

  #handshook(conn: Link, response: Response): void {
    const handshake = conn.handshake!;
    if (response.type !== "Hello" || response.version !== PROTOCOL_VERSION) {
      const version = response.type === "Hello" ? response.version : 0;
      this.#drop(conn, errors.DROPPED_AFTER_EARLIER);
      handshake.reject(this.#error(errors.wrongVersion(version, PROTOCOL_VERSION)));
      return;
    }
    if (conn.closedByCaller) {
      return; // the close() that raced the handshake rejects it when the socket closes
    }
    conn.idle();
    handshake.resolve(conn);
  }

  // ----------------------------------------------------------------------------------------
  // Receiving.

  #frame(conn: Link, body: Buffer): boolean {
    const call = conn.shift();
    if (call === undefined) {
      this.#drop(conn, errors.UNSOLICITED);
      return false;
    }
    let response: Response;
    try {
      response = decodeResponse(body);
    } catch (error) {
      this.#fail(conn, call, errors.malformed((error as WireError).kind));
      return false;
    }
    if (response.id !== call.id && !(response.id === 0 && response.type === "Error")) {
      this.#fail(conn, call, errors.idMismatch(call.id, response.id));
      return false;
    }
    if (call.kind !== "Hello" && response.id === call.id) {
      conn.answered += 1;
    }
    if (response.type === "Error") {
      return this.#refused(conn, call, response, response.id === 0);
    }
    if (response.type !== call.expect) {
      this.#fail(conn, call, errors.unexpectedAnswer(call.kind, response.type));
      return false;
    }
    call.answer(response);
    if (!conn.usable && conn.length === 0) {
      conn.drop("no longer used");
    }
    return true;
  }

  #refused(conn: Link, call: Call, response: ErrorResponse, connectionLevel: boolean): boolean {
    const code = response.code;
    if (connectionLevel) {
      conn.refusedWith = code; // the requests behind fail with it too, when the sidecar closes
    }
    if (call.kind === "Hello") {
      this.#drop(conn, errors.DROPPED_AFTER_EARLIER);
      if (code === "ShuttingDown") {
        call.reject(new NotServed(code)); // nothing was sent: connecting again is safe
      } else if (code === "Unauthorized" && !connectionLevel) {
        call.reject(this.#error(errors.TOKEN_REFUSED, code));
      } else if (code === "Unauthorized" || code === "Busy") {
        this.#connectionError(call, code);
      } else {
        call.reject(this.#error(errors.handshakeRefused(code), code));
      }
      return false;
    }
    if (connectionLevel || !KEEPS_OPEN.has(code)) {
      // The sidecar closes the connection after this answer: nothing new goes on it.
      this.#retire(conn);
    }
    if (connectionLevel) {
      this.#connectionError(call, code);
    } else if (code === "ShuttingDown") {
      this.#notServed(call, code);
    } else {
      call.reject(this.#error(errors.errorAnswer(call.kind, code), code));
    }
    if (!conn.usable && conn.length === 0) {
      conn.drop("no longer used");
    }
    return true;
  }

  #malformed(conn: Link, error: WireError): void {
    const call = conn.shift();
    if (call === undefined) {
      this.#drop(conn, errors.UNSOLICITED);
    } else {
      this.#fail(conn, call, errors.malformed(error.kind));
    }
  }

  #timedOut(conn: Link): void {
    const call = conn.shift();
    const kind = call?.kind ?? "Hello";
    const message = errors.timedOut(kind, this.#timeoutMs ?? 0);
    if (call === undefined) {
      this.#drop(conn, "timed out");
      conn.handshake?.reject(this.#error(message));
    } else {
      this.#fail(conn, call, message);
    }
  }

  #closed(conn: Link, reason: string, connectError: unknown): void {
    this.#retire(conn);
    const handshake = conn.handshake;
    if (!conn.connected) {
      const cause = connectError === undefined ? {} : { cause: connectError };
      const why = connectError === undefined ? reason : errors.describeSystemError(connectError);
      handshake?.reject(this.#error(errors.cannotConnect(why), undefined, cause));
      return;
    }
    // Only the oldest request in flight can have part of its answer in the decoder.
    let answerBegan = conn.answerBegan;
    for (const call of conn.drain()) {
      const began = answerBegan;
      answerBegan = false;
      if (conn.closedByCaller) {
        call.reject(this.#error(errors.closedByCaller(call.kind)));
      } else if (call.kind === "Hello") {
        call.reject(this.#error(errors.closedMidRequest(call.kind, reason)));
      } else if (conn.refusedWith !== undefined) {
        this.#connectionError(call, conn.refusedWith);
      } else if (!conn.droppedByUs && call.reused && !began) {
        this.#resend(call, reason);
      } else {
        const told = call.retried ? errors.closedResent : errors.closedMidRequest;
        call.reject(this.#error(told(call.kind, reason)));
      }
    }
    // A handshake still pending here was cut short; one already settled ignores this.
    const what = conn.closedByCaller
      ? errors.closedByCaller("Hello")
      : errors.closedMidRequest("Hello", reason);
    handshake?.reject(this.#error(what));
  }

  // ----------------------------------------------------------------------------------------

  #fail(conn: Link, call: Call, message: string): void {
    call.reject(this.#error(message));
    this.#drop(conn, errors.DROPPED_AFTER_EARLIER);
  }

  /** Takes `conn` out of use: new calls go to a fresh connection. */
  #retire(conn: Link): void {
    conn.usable = false;
    if (this.#conn === conn) {
      this.#conn = null;
    }
  }

  #drop(conn: Link, reason: string): void {
    this.#retire(conn);
    conn.drop(reason);
  }

  #error(what: string, code?: ErrorCode, options?: { cause?: unknown }): SecretsUnavailableError {
    const path = this.#path ?? "(unset)";
    return new SecretsUnavailableError(this.#path, errors.at(path, what), code, options);
  }
}
