using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Ax.Secrets.Testing
{
    /// <summary>
    /// A small, strict JSON reader and writer for the test program and the conformance driver
    /// (Mono has no System.Text.Json, and the shim takes no dependencies). Objects are
    /// <c>Dictionary&lt;string, object&gt;</c> (a repeated key is an error), arrays
    /// <c>List&lt;object&gt;</c>, integers <c>long</c> (or <c>ulong</c> above long's range),
    /// other numbers <c>double</c>, and strings, bools and null as themselves.
    /// </summary>
    internal static class Json
    {
        internal static object Parse(string text)
        {
            var parser = new Parser(text);
            parser.SkipSpace();
            object value = parser.Value();
            parser.SkipSpace();
            if (parser.Position != text.Length)
            {
                throw parser.Fail("trailing characters");
            }
            return value;
        }

        internal static string Write(object value)
        {
            var out_ = new StringBuilder();
            Write(out_, value);
            return out_.ToString();
        }

        /// <summary>Structural equality; numbers compare by value whatever their type.</summary>
        internal static bool Equal(object a, object b)
        {
            if (a == null || b == null)
            {
                return a == null && b == null;
            }
            if (IsNumber(a) && IsNumber(b))
            {
                return Convert.ToDecimal(a, CultureInfo.InvariantCulture) == Convert.ToDecimal(b, CultureInfo.InvariantCulture);
            }
            var da = a as IDictionary<string, object>;
            var db = b as IDictionary<string, object>;
            if (da != null || db != null)
            {
                if (da == null || db == null || da.Count != db.Count)
                {
                    return false;
                }
                foreach (KeyValuePair<string, object> entry in da)
                {
                    object other;
                    if (!db.TryGetValue(entry.Key, out other) || !Equal(entry.Value, other))
                    {
                        return false;
                    }
                }
                return true;
            }
            var la = a as IList;
            var lb = b as IList;
            if (la != null || lb != null)
            {
                if (la == null || lb == null || la.Count != lb.Count)
                {
                    return false;
                }
                for (int i = 0; i < la.Count; i++)
                {
                    if (!Equal(la[i], lb[i]))
                    {
                        return false;
                    }
                }
                return true;
            }
            return a.Equals(b);
        }

        private static bool IsNumber(object o)
        {
            return o is long || o is ulong || o is int || o is uint || o is double || o is ushort || o is byte;
        }

        private static void Write(StringBuilder out_, object value)
        {
            if (value == null)
            {
                out_.Append("null");
            }
            else if (value is bool)
            {
                out_.Append((bool)value ? "true" : "false");
            }
            else if (value is string)
            {
                WriteString(out_, (string)value);
            }
            else if (value is double)
            {
                out_.Append(((double)value).ToString("R", CultureInfo.InvariantCulture));
            }
            else if (IsNumber(value))
            {
                out_.Append(Convert.ToString(value, CultureInfo.InvariantCulture));
            }
            else if (value is IDictionary<string, object>)
            {
                out_.Append('{');
                bool first = true;
                foreach (KeyValuePair<string, object> entry in (IDictionary<string, object>)value)
                {
                    if (!first)
                    {
                        out_.Append(", ");
                    }
                    first = false;
                    WriteString(out_, entry.Key);
                    out_.Append(": ");
                    Write(out_, entry.Value);
                }
                out_.Append('}');
            }
            else if (value is IEnumerable)
            {
                out_.Append('[');
                bool first = true;
                foreach (object item in (IEnumerable)value)
                {
                    if (!first)
                    {
                        out_.Append(", ");
                    }
                    first = false;
                    Write(out_, item);
                }
                out_.Append(']');
            }
            else
            {
                throw new ArgumentException("cannot write a " + value.GetType().Name + " as JSON");
            }
        }

        /// <summary>A JSON string; non-ASCII characters are kept, as most encoders do.</summary>
        private static void WriteString(StringBuilder out_, string text)
        {
            out_.Append('"');
            foreach (char c in text)
            {
                switch (c)
                {
                    case '"': out_.Append("\\\""); break;
                    case '\\': out_.Append("\\\\"); break;
                    case '\n': out_.Append("\\n"); break;
                    case '\r': out_.Append("\\r"); break;
                    case '\t': out_.Append("\\t"); break;
                    case '\b': out_.Append("\\b"); break;
                    case '\f': out_.Append("\\f"); break;
                    default:
                        if (c < ' ')
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
            out_.Append('"');
        }

        private sealed class Parser
        {
            private readonly string text;

            internal Parser(string text)
            {
                this.text = text;
            }

            internal int Position { get; private set; }

            internal FormatException Fail(string what)
            {
                return new FormatException("JSON: " + what + " at offset " + Position);
            }

            internal void SkipSpace()
            {
                while (Position < text.Length)
                {
                    char c = text[Position];
                    if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
                    {
                        break;
                    }
                    Position++;
                }
            }

            internal object Value()
            {
                if (Position >= text.Length)
                {
                    throw Fail("unexpected end");
                }
                char c = text[Position];
                if (c == '{')
                {
                    return Object();
                }
                if (c == '[')
                {
                    return Array();
                }
                if (c == '"')
                {
                    return String();
                }
                if (c == '-' || (c >= '0' && c <= '9'))
                {
                    return Number();
                }
                if (Literal("true"))
                {
                    return true;
                }
                if (Literal("false"))
                {
                    return false;
                }
                if (Literal("null"))
                {
                    return null;
                }
                throw Fail("unexpected character");
            }

            private bool Literal(string word)
            {
                if (string.CompareOrdinal(text, Position, word, 0, word.Length) == 0)
                {
                    Position += word.Length;
                    return true;
                }
                return false;
            }

            private Dictionary<string, object> Object()
            {
                var result = new Dictionary<string, object>(StringComparer.Ordinal);
                Position++;
                SkipSpace();
                if (Peek() == '}')
                {
                    Position++;
                    return result;
                }
                while (true)
                {
                    SkipSpace();
                    if (Peek() != '"')
                    {
                        throw Fail("expected a key");
                    }
                    string key = String();
                    SkipSpace();
                    Expect(':');
                    SkipSpace();
                    if (result.ContainsKey(key))
                    {
                        throw Fail("repeated key " + key);
                    }
                    result.Add(key, Value());
                    SkipSpace();
                    if (Peek() == ',')
                    {
                        Position++;
                        continue;
                    }
                    Expect('}');
                    return result;
                }
            }

            private List<object> Array()
            {
                var result = new List<object>();
                Position++;
                SkipSpace();
                if (Peek() == ']')
                {
                    Position++;
                    return result;
                }
                while (true)
                {
                    SkipSpace();
                    result.Add(Value());
                    SkipSpace();
                    if (Peek() == ',')
                    {
                        Position++;
                        continue;
                    }
                    Expect(']');
                    return result;
                }
            }

            private string String()
            {
                Position++;
                var out_ = new StringBuilder();
                while (true)
                {
                    if (Position >= text.Length)
                    {
                        throw Fail("unterminated string");
                    }
                    char c = text[Position++];
                    if (c == '"')
                    {
                        return out_.ToString();
                    }
                    if (c < ' ')
                    {
                        throw Fail("control character in a string");
                    }
                    if (c != '\\')
                    {
                        out_.Append(c);
                        continue;
                    }
                    if (Position >= text.Length)
                    {
                        throw Fail("unterminated escape");
                    }
                    char e = text[Position++];
                    switch (e)
                    {
                        case '"': out_.Append('"'); break;
                        case '\\': out_.Append('\\'); break;
                        case '/': out_.Append('/'); break;
                        case 'b': out_.Append('\b'); break;
                        case 'f': out_.Append('\f'); break;
                        case 'n': out_.Append('\n'); break;
                        case 'r': out_.Append('\r'); break;
                        case 't': out_.Append('\t'); break;
                        case 'u':
                            if (Position + 4 > text.Length)
                            {
                                throw Fail("short \\u escape");
                            }
                            int code;
                            if (!int.TryParse(text.Substring(Position, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out code))
                            {
                                throw Fail("bad \\u escape");
                            }
                            Position += 4;
                            out_.Append((char)code);
                            break;
                        default:
                            throw Fail("bad escape");
                    }
                }
            }

            private object Number()
            {
                int start = Position;
                bool integer = true;
                if (Peek() == '-')
                {
                    Position++;
                }
                while (Position < text.Length)
                {
                    char c = text[Position];
                    if (c >= '0' && c <= '9')
                    {
                        Position++;
                    }
                    else if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')
                    {
                        integer = false;
                        Position++;
                    }
                    else
                    {
                        break;
                    }
                }
                string literal = text.Substring(start, Position - start);
                long l;
                ulong u;
                double d;
                if (integer && long.TryParse(literal, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out l))
                {
                    return l;
                }
                if (integer && ulong.TryParse(literal, NumberStyles.None, CultureInfo.InvariantCulture, out u))
                {
                    return u;
                }
                if (double.TryParse(literal, NumberStyles.Float, CultureInfo.InvariantCulture, out d))
                {
                    return d;
                }
                throw Fail("bad number");
            }

            private char Peek()
            {
                if (Position >= text.Length)
                {
                    throw Fail("unexpected end");
                }
                return text[Position];
            }

            private void Expect(char c)
            {
                if (Peek() != c)
                {
                    throw Fail("expected '" + c + "'");
                }
                Position++;
            }
        }
    }
}
