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
        /// percent-encoded; then what common libraries print (§8.4 items 6 to 11, in that order).
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
                JsonStyled(value, JsonStyle.HtmlSafe),
                JsonStyled(value, JsonStyle.Gson),
                JsonStyled(value, JsonStyle.DotNet),
                JsonStyled(value, JsonStyle.UpperControls),
                PythonReprStr(value),
                PythonReprBytes(data),
                GoQuoted(value),
                UrlEscaped(data, "-_.~", true, false),
                UrlEscaped(data, "-_.*", true, false),
                UrlEscaped(data, "-_.~/", false, false),
                UrlEscaped(data, "-_.~$&+:=@", false, false),
                UrlEscaped(data, "-_.!~*'()", false, false),
                UrlEscaped(data, "-_.~", false, true),
                UrlEscaped(data, "-_.!*()", true, true),
                UrlEscaped(data, "-_.!*()", true, false),
            };
        }

        /// <summary>The JSON encoders whose output differs from <see cref="JsonEscaped"/>'s (§8.4 item 6).</summary>
        internal enum JsonStyle
        {
            /// <summary>Go's json.Marshal.</summary>
            HtmlSafe,
            /// <summary>Gson's default.</summary>
            Gson,
            /// <summary>System.Text.Json's default encoder.</summary>
            DotNet,
            /// <summary>Jackson's: control characters in upper-case hex.</summary>
            UpperControls,
        }

        private static void Units(StringBuilder out_, int code, bool upper)
        {
            string hex = upper ? "0123456789ABCDEF" : "0123456789abcdef";
            foreach (char c in char.ConvertFromUtf32(code))
            {
                out_.Append("\\u").Append(hex[c >> 12 & 0xF]).Append(hex[c >> 8 & 0xF])
                    .Append(hex[c >> 4 & 0xF]).Append(hex[c & 0xF]);
            }
        }

        private static int[] CodePoints(string value)
        {
            var points = new System.Collections.Generic.List<int>(value.Length);
            for (int i = 0; i < value.Length; i++)
            {
                if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
                {
                    points.Add(char.ConvertToUtf32(value[i], value[i + 1]));
                    i++;
                }
                else
                {
                    points.Add(value[i]);
                }
            }
            return points.ToArray();
        }

        private static void AppendCodePoint(StringBuilder out_, int c)
        {
            out_.Append(char.ConvertFromUtf32(c));
        }

        /// <summary><paramref name="value"/> between the quotes of a JSON string as the encoder <paramref name="style"/> writes it.</summary>
        internal static string JsonStyled(string value, JsonStyle style)
        {
            bool upper = style == JsonStyle.DotNet || style == JsonStyle.UpperControls;
            string escaped = style == JsonStyle.HtmlSafe ? "<>&\u2028\u2029"
                : style == JsonStyle.Gson ? "<>&='\u2028\u2029"
                : style == JsonStyle.DotNet ? "\"&'+<>`\u007f" : "";
            var out_ = new StringBuilder(value.Length + 8);
            foreach (int c in CodePoints(value))
            {
                if ((c < 0x10000 && escaped.IndexOf((char)c) >= 0) || (style == JsonStyle.DotNet && c > 0x7F))
                    Units(out_, c, upper);
                else if (c == '"') out_.Append("\\\"");
                else if (c == '\\') out_.Append("\\\\");
                else if (c == '\n') out_.Append("\\n");
                else if (c == '\t') out_.Append("\\t");
                else if (c == '\r') out_.Append("\\r");
                else if (c == '\b') out_.Append("\\b");
                else if (c == '\f') out_.Append("\\f");
                else if (c < 0x20) Units(out_, c, upper);
                else AppendCodePoint(out_, c);
            }
            return out_.ToString();
        }

        /// <summary>The non-ASCII characters Python's repr and Go's %q escape that §8.4 knows.</summary>
        private static bool Unprintable(int c)
        {
            return (c >= 0x80 && c <= 0xA0) || c == 0xAD || c == 0x2028 || c == 0x2029;
        }

        private static void Hex2(StringBuilder out_, int c)
        {
            const string hex = "0123456789abcdef";
            out_.Append("\\x").Append(hex[c >> 4 & 0xF]).Append(hex[c & 0xF]);
        }

        private static int PythonQuote(bool single, bool dbl)
        {
            return single && !dbl ? '"' : '\'';
        }

        /// <summary>Between the quotes of Python's repr() of a str (§8.4 item 7).</summary>
        internal static string PythonReprStr(string value)
        {
            int quote = PythonQuote(value.IndexOf('\'') >= 0, value.IndexOf('"') >= 0);
            var out_ = new StringBuilder(value.Length + 8);
            foreach (int c in CodePoints(value))
            {
                if (c == '\\') out_.Append("\\\\");
                else if (c == '\n') out_.Append("\\n");
                else if (c == '\r') out_.Append("\\r");
                else if (c == '\t') out_.Append("\\t");
                else if (c == quote) out_.Append('\\').Append((char)c);
                else if (c < 0x20 || c == 0x7F || (Unprintable(c) && c < 0x100)) Hex2(out_, c);
                else if (Unprintable(c)) Units(out_, c, false);
                else AppendCodePoint(out_, c);
            }
            return out_.ToString();
        }

        /// <summary>Between the quotes of Python's repr() of bytes (§8.4 item 8).</summary>
        internal static string PythonReprBytes(byte[] data)
        {
            int quote = PythonQuote(Array.IndexOf(data, (byte)'\'') >= 0, Array.IndexOf(data, (byte)'"') >= 0);
            var out_ = new StringBuilder(data.Length + 8);
            foreach (byte b in data)
            {
                if (b == '\\') out_.Append("\\\\");
                else if (b == '\n') out_.Append("\\n");
                else if (b == '\r') out_.Append("\\r");
                else if (b == '\t') out_.Append("\\t");
                else if (b == quote) out_.Append('\\').Append((char)b);
                else if (b >= 0x20 && b <= 0x7E) out_.Append((char)b);
                else Hex2(out_, b);
            }
            return out_.ToString();
        }

        /// <summary>Between the quotes of Go's strconv.Quote / %q (§8.4 item 9).</summary>
        internal static string GoQuoted(string value)
        {
            var out_ = new StringBuilder(value.Length + 8);
            foreach (int c in CodePoints(value))
            {
                if (c == '"') out_.Append("\\\"");
                else if (c == '\\') out_.Append("\\\\");
                else if (c == 0x07) out_.Append("\\a");
                else if (c == '\b') out_.Append("\\b");
                else if (c == '\f') out_.Append("\\f");
                else if (c == '\n') out_.Append("\\n");
                else if (c == '\r') out_.Append("\\r");
                else if (c == '\t') out_.Append("\\t");
                else if (c == 0x0B) out_.Append("\\v");
                else if (c < 0x20 || c == 0x7F) Hex2(out_, c);
                else if (Unprintable(c)) Units(out_, c, false);
                else AppendCodePoint(out_, c);
            }
            return out_.ToString();
        }

        /// <summary>
        /// Percent-encoding keeping ASCII letters, digits and <paramref name="kept"/>; a space as
        /// <c>+</c> if <paramref name="plus"/>; lower-case hex if <paramref name="lower"/> (§8.4 items 10 and 11).
        /// </summary>
        internal static string UrlEscaped(byte[] data, string kept, bool plus, bool lower)
        {
            string hex = lower ? "0123456789abcdef" : Hex;
            var out_ = new StringBuilder(data.Length + 8);
            foreach (byte b in data)
            {
                bool alnum = (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9');
                if (alnum || (b < 0x80 && kept.IndexOf((char)b) >= 0)) out_.Append((char)b);
                else if (plus && b == ' ') out_.Append('+');
                else out_.Append('%').Append(hex[b >> 4]).Append(hex[b & 0xF]);
            }
            return out_.ToString();
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
