using System;
using System.Collections.Generic;
using System.Threading;

namespace Ax.Secrets
{
    /// <summary>
    /// A stand-in for <see cref="AxiomContext"/> in node authors' unit tests: the secrets API
    /// over an in-memory map, no sidecar, no socket.
    /// </summary>
    /// <remarks>
    /// It answers exactly as a sidecar serving those values would: the same name rule, the
    /// same template rules (PROTOCOL.md §8.3) and the same redaction forms and matching (§8.4).
    /// <code>
    /// var ax = new MockAxiomContext(new Dictionary&lt;string, string&gt; { ["GREETER_SIGNATURE"] = "test-sig" });
    /// var (value, found) = ax.Secrets().Get("GREETER_SIGNATURE");   // ("test-sig", true)
    /// </code>
    /// </remarks>
    public sealed class MockAxiomContext : IAxiomContext
    {
        private readonly MockSecrets secrets;

        /// <summary>A mock with no secrets at all.</summary>
        public MockAxiomContext() : this(new Dictionary<string, string>())
        {
        }

        /// <summary>A mock serving <paramref name="secrets"/> (name to value).</summary>
        /// <exception cref="ArgumentException">A key is not a valid secret name, a name comes
        /// twice, or a value is not valid Unicode.</exception>
        /// <exception cref="ArgumentNullException">The map, or a value in it, is null.</exception>
        public MockAxiomContext(IEnumerable<KeyValuePair<string, string>> secrets)
        {
            this.secrets = new MockSecrets(secrets);
        }

        /// <inheritdoc/>
        public ISecrets Secrets()
        {
            return secrets;
        }

        /// <summary>Does nothing: there is no connection.</summary>
        public void Dispose()
        {
        }

        /// <inheritdoc/>
        public override string ToString()
        {
            return "MockAxiomContext()";
        }
    }

    /// <summary>
    /// <c>ax.Secrets()</c> over a fixed map. <see cref="List"/> reports every secret as version
    /// 1, updated at 0, from the tenant. Safe to share between threads.
    /// </summary>
    public sealed class MockSecrets : ISecrets
    {
        private readonly Dictionary<string, string> values = new Dictionary<string, string>(StringComparer.Ordinal);
        private Redactor redactor;

        /// <summary>A mock serving <paramref name="secrets"/> (name to value).</summary>
        /// <exception cref="ArgumentException">A key is not a valid secret name, a name comes
        /// twice, or a value is not valid Unicode.</exception>
        /// <exception cref="ArgumentNullException">The map, or a value in it, is null.</exception>
        public MockSecrets(IEnumerable<KeyValuePair<string, string>> secrets)
        {
            if (secrets == null)
            {
                throw new ArgumentNullException(nameof(secrets));
            }
            foreach (KeyValuePair<string, string> secret in secrets)
            {
                string problem = secret.Key == null ? "null" : Names.Problem(secret.Key);
                if (problem != null)
                {
                    throw new ArgumentException(ErrorMessages.MockKeyNotAName(problem), nameof(secrets));
                }
                if (secret.Value == null)
                {
                    throw new ArgumentNullException(nameof(secrets), ErrorMessages.MockValueNull(secret.Key));
                }
                int badIndex;
                if (Utf8.ByteCount(secret.Value, out badIndex) < 0)
                {
                    throw new ArgumentException(ErrorMessages.MockValueNotUnicode(secret.Key), nameof(secrets));
                }
                if (values.ContainsKey(secret.Key))
                {
                    throw new ArgumentException(ErrorMessages.MockDuplicate(secret.Key), nameof(secrets));
                }
                values.Add(secret.Key, secret.Value);
            }
        }

        /// <inheritdoc/>
        public (string Value, bool Found) Get(string name)
        {
            if (name == null)
            {
                throw new ArgumentNullException(nameof(name));
            }
            string value;
            if (Names.IsValid(name) && values.TryGetValue(name, out value))
            {
                return (value, true);
            }
            return ("", false);
        }

        /// <inheritdoc/>
        public bool Exists(string name)
        {
            return Get(name).Found;
        }

        /// <inheritdoc/>
        public IReadOnlyList<SecretInfo> List()
        {
            var names = new List<string>(values.Keys);
            names.Sort(StringComparer.Ordinal);
            var list = new List<SecretInfo>(names.Count);
            foreach (string name in names)
            {
                list.Add(new SecretInfo(name, 1, 0));
            }
            return list.AsReadOnly();
        }

        /// <inheritdoc/>
        public Rendered Render(string template)
        {
            Arguments.CheckText(template, nameof(template), "template", "Render");
            List<string> missing;
            string text = Template.Render(template, Lookup, out missing);
            return new Rendered(text, missing.AsReadOnly());
        }

        /// <inheritdoc/>
        public Redacted Redact(string text)
        {
            Arguments.CheckText(text, nameof(text), "text", "Redact");
            Redactor r = Volatile.Read(ref redactor);
            if (r == null)
            {
                // Built on first use, like the sidecar's; a race only builds it twice.
                r = new Redactor(values);
                Volatile.Write(ref redactor, r);
            }
            List<string> found;
            string redacted = r.Redact(text, out found);
            return new Redacted(redacted, found.AsReadOnly());
        }

        /// <summary>Names the secrets, never their values.</summary>
        public override string ToString()
        {
            var names = new List<string>(values.Keys);
            names.Sort(StringComparer.Ordinal);
            return "MockSecrets(names=[" + string.Join(", ", names) + "])";
        }

        private string Lookup(string name)
        {
            string value;
            return values.TryGetValue(name, out value) ? value : null;
        }
    }
}
