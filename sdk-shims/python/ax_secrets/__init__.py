"""ax-secrets for Python: read an execution's secrets from its ``ax-sidecar``.

>>> from ax_secrets import AxiomContext
>>> ax = AxiomContext()                                  # doctest: +SKIP
>>> value, ok = ax.secrets.get("OPENAI_API_KEY")         # doctest: +SKIP

# Layout

- ``context``: :class:`AxiomContext` and ``ax.secrets`` over the sidecar.
- ``client``: the connection's life: lazy connect, handshake, ids, reconnection, errors.
- ``connection``: one Unix socket: write a frame, read a frame.
- ``wire`` / ``messages``: framing and the postcard codec; the v2 messages.
- ``names`` / ``template`` / ``encodings`` / ``redact``: the rules of PROTOCOL §8, used by
  the client (names) and by the mock (all of them).
- ``mock``: :class:`MockAxiomContext` for unit tests.
- ``results``: what the API returns; ``errors``: the errors and every user-visible message;
  ``limits``: the protocol's constants.
"""

from .context import AxiomContext, Secrets
from .errors import RequestTooLargeError, SecretsUnavailableError
from .mock import MockAxiomContext, MockSecrets
from .results import Redacted, Rendered, SecretInfo, SecretsApi

__all__ = [
    "AxiomContext",
    "MockAxiomContext",
    "MockSecrets",
    "Redacted",
    "Rendered",
    "RequestTooLargeError",
    "SecretInfo",
    "Secrets",
    "SecretsApi",
    "SecretsUnavailableError",
]

__version__ = "0.1.0"
