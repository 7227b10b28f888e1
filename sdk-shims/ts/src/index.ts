/**
 * ax-secrets for TypeScript and JavaScript: read an execution's secrets from its `ax-sidecar`.
 *
 * ```ts
 * import { AxiomContext } from "@ax-secrets/sdk";
 * const ax = new AxiomContext();
 * const [value, ok] = await ax.secrets.get("OPENAI_API_KEY");
 * ```
 *
 * # Layout
 *
 * - `context`: {@link AxiomContext} and `ax.secrets` over the sidecar.
 * - `client`: the connection's life: lazy connect, handshake, ids, pipelining, reconnection.
 * - `connection`: one Unix socket: write frames, read frames, the requests in flight.
 * - `decoder`: frames off a byte stream, across any split.
 * - `wire` / `messages`: framing and the postcard codec; the v2 messages.
 * - `names` / `template` / `encodings` / `redact`: the rules of PROTOCOL §8, used by the client
 *   (names) and by the mock (all of them).
 * - `mock`: {@link MockAxiomContext} for unit tests.
 * - `results`: what the API returns and the interface both contexts share; `errors`: the
 *   errors and every user-visible message; `strings`: argument checks; `limits`: constants.
 */

import { AxiomContext } from "./context";

export { AxiomContext, Secrets, type AxiomContextOptions } from "./context";
export { RequestTooLargeError, SecretsUnavailableError } from "./errors";
export type { ErrorCode } from "./messages";
export { MockAxiomContext, MockSecrets, type MockOptions, type SecretsMap } from "./mock";
export {
  Redacted,
  Rendered,
  type AxiomContextLike,
  type GetResult,
  type SecretInfo,
  type SecretsApi,
} from "./results";

/** The package's version. */
export const VERSION = "0.1.0";

/**
 * A ready-made context configured from the environment (`AX_SECRETS_SOCKET`,
 * `AX_SECRETS_TOKEN`); it connects on its first call, never at import.
 */
export const ax: AxiomContext = new AxiomContext();
