using System;
using System.Collections.Generic;

namespace Ax.Secrets
{
    /// <summary>
    /// <c>ax.Secrets()</c>: the secrets API, implemented by the sidecar client
    /// (<see cref="AxiomContext"/>) and by the mock (<see cref="MockAxiomContext"/>) alike.
    /// </summary>
    /// <remarks>
    /// A missing secret is never an exception. Against a sidecar, every method throws
    /// <see cref="SecretsUnavailableException"/> when the sidecar cannot be asked.
    /// Implementations are safe to share between threads.
    /// </remarks>
    public interface ISecrets
    {
        /// <summary>
        /// The secret's value: <c>(value, true)</c>, or <c>("", false)</c> when there is none.
        /// </summary>
        /// <remarks>
        /// An empty value is found: <c>("", true)</c>. A string that is not a valid name
        /// (<c>^[A-Za-z][A-Za-z0-9_]{0,127}$</c>) is not found and never leaves the process.
        /// </remarks>
        /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
        (string Value, bool Found) Get(string name);

        /// <summary>Whether a secret of that name exists.</summary>
        /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
        bool Exists(string name);

        /// <summary>The metadata of every secret, sorted by name; never a value.</summary>
        IReadOnlyList<SecretInfo> List();

        /// <summary>
        /// Replaces each <c>{{secrets.NAME}}</c> (whitespace allowed inside the braces) by the
        /// secret's value; references to missing secrets stay as written and are listed once.
        /// </summary>
        /// <exception cref="ArgumentNullException"><paramref name="template"/> is null.</exception>
        /// <exception cref="ArgumentException">The template holds a lone surrogate.</exception>
        /// <exception cref="RequestTooLargeException">The request would be over 1 MiB.</exception>
        Rendered Render(string template);

        /// <summary>
        /// Replaces every secret value in <paramref name="text"/>, and its base64, base64url,
        /// JSON-escaped and percent-encoded forms, by <c>***</c>.
        /// </summary>
        /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
        /// <exception cref="ArgumentException">The text holds a lone surrogate.</exception>
        /// <exception cref="RequestTooLargeException">The request would be over 1 MiB.</exception>
        Redacted Redact(string text);
    }

    /// <summary>The execution context node code receives as <c>ax</c>.</summary>
    public interface IAxiomContext : IDisposable
    {
        /// <summary>The execution's secrets.</summary>
        ISecrets Secrets();
    }
}
