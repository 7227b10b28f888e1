using System.Collections.Generic;
using System.Text;

namespace Ax.Secrets.Testing
{
    /// <summary>
    /// <c>redaction.json</c> (PROTOCOL.md §8.4, §10.2) through the mock: each value's forms by
    /// name against <c>Encodings.Forms</c>, each form alone through <c>MockSecrets.Redact</c>,
    /// and whole redactions through the <c>Redactor</c> and the mock.
    /// </summary>
    internal static class RedactionVectors
    {
        /// <summary>
        /// The names of the forms, in the order <c>Encodings.Forms</c> gives them: the keys of a
        /// forms case (<c>FORM_NAMES</c> in protocol/src/encodings.rs).
        /// </summary>
        private static readonly string[] FormNames =
        {
            "utf8", "base64", "base64_unpadded", "base64url", "base64url_unpadded", "json",
            "json_ascii", "percent", "json_html_safe", "json_gson", "json_dotnet",
            "json_upper_controls", "python_repr_str", "python_repr_bytes", "go_quoted",
            "query_escape", "form_urlencoded", "python_quote", "go_path_escape", "uri_component",
            "percent_lower", "dotnet_http_utility", "dotnet_web_utility",
        };

        internal static void Run(Dictionary<string, object> test)
        {
            Assert.Equal("valid", (string)test["result"], "result");
            var value = (Dictionary<string, object>)test["value"];
            if (value.ContainsKey("forms"))
            {
                Forms(test, value);
            }
            else
            {
                Redaction(test, value);
            }
        }

        private static void Forms(Dictionary<string, object> test, Dictionary<string, object> value)
        {
            VectorTests.ExactKeys(value, new[] { "secret", "masked", "forms" }, "value");
            string secret = (string)value["secret"];
            byte[] utf8 = Encoding.UTF8.GetBytes(secret);
            Assert.Equal((string)test["hex"], Hex.Of(utf8), "hex is the secret's UTF-8");
            bool masked = utf8.Length >= Limits.MinRedactedLength;
            Assert.Equal(masked, (bool)value["masked"], "masked");
            var named = (Dictionary<string, object>)value["forms"];
            VectorTests.ExactKeys(named, FormNames, "forms");
            string[] ours = Encodings.Forms(secret);
            Assert.Equal(FormNames.Length, ours.Length, "number of forms");
            var mock = new MockSecrets(new Dictionary<string, string> { { "S", secret } });
            for (int i = 0; i < FormNames.Length; i++)
            {
                string form = (string)named[FormNames[i]];
                Assert.Equal(form, ours[i], "form " + FormNames[i]);
                Redacted alone = mock.Redact(form);
                Assert.Equal(masked ? "***" : form, alone.Text, "form " + FormNames[i] + " alone");
                Assert.Sequence(masked ? new[] { "S" } : new string[0], alone.Found, "found");
            }
        }

        private static void Redaction(Dictionary<string, object> test, Dictionary<string, object> value)
        {
            VectorTests.ExactKeys(value, new[] { "secrets", "text", "redacted", "found" }, "value");
            string text = (string)value["text"];
            Assert.Equal((string)test["hex"], Hex.Of(Encoding.UTF8.GetBytes(text)), "hex is the text's UTF-8");
            var secrets = new Dictionary<string, string>();
            foreach (KeyValuePair<string, object> secret in (Dictionary<string, object>)value["secrets"])
            {
                secrets[secret.Key] = (string)secret.Value;
            }
            var found = new List<string>();
            foreach (object name in (List<object>)value["found"])
            {
                found.Add((string)name);
            }
            string redacted = (string)value["redacted"];
            List<string> redactorFound;
            Assert.Equal(redacted, new Redactor(secrets).Redact(text, out redactorFound), "the Redactor's text");
            Assert.Sequence(found, redactorFound, "the Redactor's found");
            Redacted mocked = new MockSecrets(secrets).Redact(text);
            Assert.Equal(redacted, mocked.Text, "the mock's text");
            Assert.Sequence(found, mocked.Found, "the mock's found");
        }
    }
}
