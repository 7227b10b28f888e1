using System;
using System.Collections.Generic;

namespace Ax.Secrets
{
    /// <summary>
    /// The execution context node code receives as <c>ax</c>, backed by the execution's
    /// sidecar.
    /// </summary>
    /// <remarks>
    /// Connects lazily, on the first call, to the sidecar at <c>$AX_SECRETS_SOCKET</c> with the
    /// token in <c>$AX_SECRETS_TOKEN</c> (both read then), does the handshake once and reuses
    /// the connection. Safe to share between threads. <see cref="Dispose"/> closes the
    /// connection; a call after it throws <see cref="ObjectDisposedException"/>.
    /// <code>
    /// using (var ax = new AxiomContext())
    /// {
    ///     var (value, found) = ax.Secrets().Get("OPENAI_API_KEY");
    /// }
    /// </code>
    /// </remarks>
    public sealed class AxiomContext : IAxiomContext
    {
        private readonly SidecarClient client;
        private readonly SidecarSecrets secrets;

        /// <summary>Creates a context; nothing is read or connected until the first call.</summary>
        /// <param name="socketPath">The sidecar's socket; null: <c>$AX_SECRETS_SOCKET</c>.</param>
        /// <param name="token">The client token; null: <c>$AX_SECRETS_TOKEN</c>; "" sends none.</param>
        /// <param name="timeout">How long to wait for each answer; null (the default) waits for ever.</param>
        public AxiomContext(string socketPath = null, string token = null, TimeSpan? timeout = null)
        {
            client = new SidecarClient(socketPath, token, timeout);
            secrets = new SidecarSecrets(client);
        }

        /// <inheritdoc/>
        public ISecrets Secrets()
        {
            return secrets;
        }

        /// <summary>Closes the connection to the sidecar.</summary>
        public void Dispose()
        {
            client.Dispose();
        }

        /// <summary>Names the socket, never the token.</summary>
        public override string ToString()
        {
            return "AxiomContext(socket=" + (client.SocketPath ?? "(from " + Limits.SocketEnv + ")") + ")";
        }
    }

    /// <summary><c>ax.Secrets()</c> over the sidecar.</summary>
    internal sealed class SidecarSecrets : ISecrets
    {
        private readonly SidecarClient client;

        internal SidecarSecrets(SidecarClient client)
        {
            this.client = client;
        }

        public (string Value, bool Found) Get(string name)
        {
            if (name == null)
            {
                throw new ArgumentNullException(nameof(name));
            }
            if (!Names.IsValid(name))
            {
                return ("", false);
            }
            string value = client.Call<SecretResponse>(new GetRequest(name)).Value;
            return value == null ? ("", false) : (value, true);
        }

        public bool Exists(string name)
        {
            return Get(name).Found;
        }

        public IReadOnlyList<SecretInfo> List()
        {
            return client.Call<ListResponse>(ListRequest.Instance).Secrets.AsReadOnly();
        }

        public Rendered Render(string template)
        {
            Arguments.CheckText(template, nameof(template), "template", "Render");
            RenderedResponse answer = client.Call<RenderedResponse>(new RenderRequest(template));
            return new Rendered(answer.Text, answer.Missing.AsReadOnly());
        }

        public Redacted Redact(string text)
        {
            Arguments.CheckText(text, nameof(text), "text", "Redact");
            RedactedResponse answer = client.Call<RedactedResponse>(new RedactRequest(text));
            return new Redacted(answer.Text, answer.Found.AsReadOnly());
        }

        public override string ToString()
        {
            return "Secrets(socket=" + (client.SocketPath ?? "(from " + Limits.SocketEnv + ")") + ")";
        }
    }
}
