using System;
using System.Text;

namespace Ax.Secrets
{
    /// <summary>The forms a secret value commonly leaks in (PROTOCOL.md §8.4), as the sidecar computes them.</summary>
    internal static class Encodings
    {
        private const string Hex = "0123456789ABCDEF";

        /// <summary>
        /// Every form of <paramref name="value"/> that is redacted, duplicates included, in the
        /// order of PROTOCOL.md §8.4: the value itself; base64 and base64url, padded and
        /// unpadded; JSON-string escaped with non-ASCII kept and with it as <c>\uXXXX</c>;
        /// percent-encoded.
        /// </summary>
        internal static string[] Forms(string value)
        {
            byte[] data = Encoding.UTF8.GetBytes(value);
            string std = Convert.ToBase64String(data);
            string url = std.Replace('+', '-').Replace('/', '_');
            return new[]
            {
                value,
                std,
                std.TrimEnd('='),
                url,
                url.TrimEnd('='),
                JsonEscaped(value, false),
                JsonEscaped(value, true),
                PercentEncoded(data),
            };
        }

        /// <summary>
        /// <paramref name="value"/> as it appears between the quotes of a JSON string.
        /// </summary>
        /// <remarks>
        /// <c>"</c> and <c>\</c> are escaped, control characters below U+0020 as <c>\n</c>,
        /// <c>\t</c>, <c>\r</c>, <c>\b</c>, <c>\f</c> or <c>\u00xx</c>; with
        /// <paramref name="asciiOnly"/> every non-ASCII UTF-16 unit becomes <c>\uxxxx</c>
        /// (lower-case hex), which writes a character above U+FFFF as its surrogate pair.
        /// DEL stays as it is.
        /// </remarks>
        internal static string JsonEscaped(string value, bool asciiOnly)
        {
            var out_ = new StringBuilder(value.Length + 8);
            foreach (char c in value)
            {
                switch (c)
                {
                    case '"': out_.Append("\\\""); break;
                    case '\\': out_.Append("\\\\"); break;
                    case '\n': out_.Append("\\n"); break;
                    case '\t': out_.Append("\\t"); break;
                    case '\r': out_.Append("\\r"); break;
                    case '\b': out_.Append("\\b"); break;
                    case '\f': out_.Append("\\f"); break;
                    default:
                        if (c < ' ' || (asciiOnly && c > '\x7f'))
                        {
                            out_.Append("\\u").Append(((int)c).ToString("x4"));
                        }
                        else
                        {
                            out_.Append(c);
                        }
                        break;
                }
            }
            return out_.ToString();
        }

        /// <summary>RFC 3986 percent-encoding: every byte outside <c>A-Z a-z 0-9 - . _ ~</c> as <c>%XX</c>.</summary>
        internal static string PercentEncoded(byte[] data)
        {
            var out_ = new StringBuilder(data.Length * 3);
            foreach (byte b in data)
            {
                char c = (char)b;
                if (Names.IsLetter(c) || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~')
                {
                    out_.Append(c);
                }
                else
                {
                    out_.Append('%').Append(Hex[b >> 4]).Append(Hex[b & 0xf]);
                }
            }
            return out_.ToString();
        }
    }
}
