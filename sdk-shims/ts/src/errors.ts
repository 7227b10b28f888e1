/**
 * The shim's errors, and every message a user of the shim can see.
 *
 * No message ever holds a secret value, a token, a template or a text to redact: only socket
 * paths, names of request kinds, error codes, system error codes and sizes.
 */

import type { ErrorCode } from "./messages";

/**
 * The sidecar could not be asked: a transport failure, never "secret not found".
 *
 * Rejected with when `AX_SECRETS_SOCKET` is unset or too long, nothing listens at the path, the
 * sidecar refuses this process's uid or the client token, is busy or shutting down, the connection breaks while a request is in flight, or the sidecar
 * answers with something the shim cannot accept.
 */
export class SecretsUnavailableError extends Error {
  /** The socket the shim tried to reach (`undefined` when none was configured). */
  readonly socketPath: string | undefined;
  /** The protocol error code the sidecar answered with, when it answered with one. */
  readonly code: ErrorCode | undefined;

  constructor(
    socketPath: string | undefined,
    message: string,
    code?: ErrorCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.socketPath = socketPath;
    this.code = code;
  }

  override get name(): string {
    return "SecretsUnavailableError";
  }
}

/** An argument would make a request over the 1 MiB request limit; nothing was sent. */
export class RequestTooLargeError extends RangeError {
  override get name(): string {
    return "RequestTooLargeError";
  }
}

/** How bytes fail to be a frame or a message, named as in the shared vectors (PROTOCOL §10.2). */
export type WireErrorKind =
  | "FrameTooLarge"
  | "Truncated"
  | "UnexpectedEnd"
  | "TrailingBytes"
  | "UnknownVariant"
  | "InvalidUtf8"
  | "InvalidOptionTag"
  | "InvalidVarint"
  | "MessageTooLarge";

const WIRE_MESSAGES: Readonly<Record<WireErrorKind, string>> = {
  FrameTooLarge: "frame length exceeds the limit",
  Truncated: "stream ended inside a frame",
  UnexpectedEnd: "frame ended before the message did",
  TrailingBytes: "bytes left in the frame after the message",
  UnknownVariant: "unknown enum variant for this protocol version",
  InvalidUtf8: "string is not valid UTF-8",
  InvalidOptionTag: "option tag is neither 0 nor 1",
  InvalidVarint: "varint is too long or overflows its type",
  MessageTooLarge: "message would exceed the frame limit",
};

/** Bytes that are not a valid frame or message (PROTOCOL §2, §4). */
export class WireError extends Error {
  /** What is wrong, as the shared vectors name it. */
  readonly kind: WireErrorKind;

  constructor(kind: WireErrorKind) {
    super(WIRE_MESSAGES[kind]);
    this.kind = kind;
  }

  override get name(): string {
    return "WireError";
  }
}

export const PREFIX = "ax-secrets: ";

export function noSocketConfigured(envName: string): string {
  return (
    `${PREFIX}${envName} is not set, so there is no sidecar to ask ` +
    "(in tests, use MockAxiomContext)"
  );
}

/** A message about the sidecar at `path`. */
export function at(path: string, what: string): string {
  return `${PREFIX}the sidecar at ${path} ${what}`;
}

export const cannotConnect = (reason: string): string => `cannot be reached (${reason})`;
export const TOKEN_REFUSED = "refused the client token";
export const uidRefused = (uid: number): string =>
  `refused this process's uid ${uid} (not allowed to connect)`;
export const BUSY = "is at its connection cap (error Busy); try again after a pause";
export const socketPathTooLong = (path: string, size: number, limit: number): string =>
  `${PREFIX}socket path ${path} is ${size} bytes; a Unix socket path holds at most ${limit}`;
export const tokenTooLong = (size: number, limit: number): string =>
  `cannot be sent the client token: it is ${size} bytes, over the limit of ${limit}`;
export const handshakeRefused = (code: string): string =>
  `refused the handshake with error ${code}`;
export const wrongVersion = (version: number, ours: number): string =>
  `speaks protocol version ${version}, not ${ours}`;
export const notServedTwice = (code: string): string =>
  `did not serve the request, twice in a row (error ${code})`;
export const BROKEN_TWICE = "closed the connection twice in a row before a request could be sent";
export const closedMidRequest = (kind: string, reason: string): string =>
  `closed the connection before answering ${kind} (${reason}); it was not resent`;
export const closedResent = (kind: string, reason: string): string =>
  `closed the connection before answering ${kind} (${reason}), also when resent`;
export const idMismatch = (sent: number, received: number): string =>
  `answered request ${sent} with id ${received}; the connection was dropped`;
export const malformed = (reason: string): string =>
  `sent a malformed response (${reason}); the connection was dropped`;
export const unexpectedAnswer = (kind: string, answer: string): string =>
  `answered ${kind} with ${answer}; the connection was dropped`;
export const UNSOLICITED = "sent a response to no request; the connection was dropped";
export const errorAnswer = (kind: string, code: string): string =>
  `refused ${kind} with error ${code}`;
export const timedOut = (kind: string, ms: number): string =>
  `did not answer ${kind} within ${ms} ms; the connection was dropped`;
export const closedByCaller = (kind: string): string =>
  `did not answer ${kind}: the client was closed first`;
/** Why pipelined requests behind a failed one are not answered. */
export const DROPPED_AFTER_EARLIER = "dropped after an earlier answer was refused";

export function requestTooLarge(kind: string, size: number, limit: number): string {
  return (
    `${PREFIX}this ${kind} request would be ${size} bytes, over the request limit of ` +
    `${limit} bytes (1 MiB); nothing was sent`
  );
}

export function notWellFormed(what: string, index: number): string {
  return `${PREFIX}the ${what} is not well-formed Unicode (a lone surrogate at index ${index})`;
}

export function notAString(what: string, got: unknown): string {
  return `${PREFIX}${what} must be a string, not ${got === null ? "null" : typeof got}`;
}

export const MOCK_BAD_KEY = (problem: string): string =>
  `${PREFIX}secretsMap holds a key that is not a secret name (${problem})`;
export const MOCK_BAD_VALUE = `${PREFIX}secretsMap must map names to string values`;

const SYSTEM_REASONS: Readonly<Record<string, string>> = {
  ENOENT: "no such file or directory",
  ECONNREFUSED: "connection refused",
  EACCES: "permission denied",
  ENOTSOCK: "not a socket",
  ENOTDIR: "not a directory",
  ECONNRESET: "connection reset by peer",
  EPIPE: "broken pipe",
  ETIMEDOUT: "timed out",
};

/** A short reason for a Node.js system error: its code and what it means, never a payload. */
export function describeSystemError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") {
    return error instanceof Error ? error.name : "unknown error";
  }
  const meaning = SYSTEM_REASONS[code];
  return meaning === undefined ? code : `${code}: ${meaning}`;
}
