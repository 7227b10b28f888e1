/**
 * The protocol v2 messages (PROTOCOL §3, §5, §6) as plain objects.
 *
 * A message is one flat object: its `id`, its variant name in `type` (as in the canonical JSON of
 * PROTOCOL §10.2) and the variant's fields, in camelCase. Enum order is the wire format:
 * {@link REQUEST_TYPES}, {@link RESPONSE_TYPES} and {@link ERROR_CODES} list the variants in
 * tag order.
 */

/** Every `ErrorCode` of v2, in tag order. */
export const ERROR_CODES = [
  "BadRequest",
  "UnsupportedVersion",
  "Unauthorized",
  "TooLarge",
  "ShuttingDown",
  "Internal",
  "HandshakeRequired",
  "Busy",
] as const;

/** A protocol error code, as the sidecar answers it. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Every request variant of v2, in tag order. */
export const REQUEST_TYPES = ["Hello", "Get", "List", "Render", "Redact", "Ping"] as const;

/** Every response variant of v2, in tag order. */
export const RESPONSE_TYPES = [
  "Hello",
  "Secret",
  "List",
  "Rendered",
  "Redacted",
  "Pong",
  "Error",
] as const;

/** Tag 0: the handshake, the first request on every connection. */
export interface HelloRequest {
  readonly id: number;
  readonly type: "Hello";
  readonly version: number;
  readonly client: string;
  readonly token: string | null;
}

/** Tag 1: one secret by name. */
export interface GetRequest {
  readonly id: number;
  readonly type: "Get";
  readonly name: string;
}

/** Tag 2: the metadata of every secret. */
export interface ListRequest {
  readonly id: number;
  readonly type: "List";
}

/** Tag 3: expand `{{secrets.NAME}}` references. */
export interface RenderRequest {
  readonly id: number;
  readonly type: "Render";
  readonly template: string;
}

/** Tag 4: replace every value in a text with `***`. */
export interface RedactRequest {
  readonly id: number;
  readonly type: "Redact";
  readonly text: string;
}

/** Tag 5: liveness check. */
export interface PingRequest {
  readonly id: number;
  readonly type: "Ping";
}

/** A request: a client-chosen `id` (u32) the response echoes, and its variant. */
export type Request =
  HelloRequest | GetRequest | ListRequest | RenderRequest | RedactRequest | PingRequest;

/** A `SecretInfo` as on the wire; nothing in it tells an override from a tenant value. */
export interface WireSecretInfo {
  readonly name: string;
  readonly version: number;
  /** Seconds since the Unix epoch; exact up to 2^53 (a u64 on the wire). */
  readonly updatedAt: number;
}

/** Tag 0: the handshake was accepted. */
export interface HelloResponse {
  readonly id: number;
  readonly type: "Hello";
  readonly version: number;
  readonly sidecar: string;
  readonly executionId: string;
}

/** Tag 1: the answer to `Get`; `null` means not found, `""` is a found empty value. */
export interface SecretResponse {
  readonly id: number;
  readonly type: "Secret";
  readonly value: string | null;
}

/** Tag 2: the answer to `List`, sorted by name. */
export interface ListResponse {
  readonly id: number;
  readonly type: "List";
  readonly secrets: readonly WireSecretInfo[];
}

/** Tag 3: the answer to `Render`. */
export interface RenderedResponse {
  readonly id: number;
  readonly type: "Rendered";
  readonly text: string;
  readonly missing: readonly string[];
}

/** Tag 4: the answer to `Redact`. */
export interface RedactedResponse {
  readonly id: number;
  readonly type: "Redacted";
  readonly text: string;
  readonly found: readonly string[];
}

/** Tag 5: the answer to `Ping`. */
export interface PongResponse {
  readonly id: number;
  readonly type: "Pong";
}

/** Tag 6: a refused request. */
export interface ErrorResponse {
  readonly id: number;
  readonly type: "Error";
  readonly code: ErrorCode;
  readonly message: string;
}

/** A response: the `id` of the request it answers, and its variant. */
export type Response =
  | HelloResponse
  | SecretResponse
  | ListResponse
  | RenderedResponse
  | RedactedResponse
  | PongResponse
  | ErrorResponse;

/** The variant name of a response. */
export type ResponseType = Response["type"];
