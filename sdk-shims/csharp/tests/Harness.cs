using System;
using System.Collections.Generic;
using System.Diagnostics;

namespace Ax.Secrets.Testing
{
    /// <summary>A test failed; the message says what was expected.</summary>
    internal sealed class AssertionException : Exception
    {
        internal AssertionException(string message) : base(message) { }
    }

    /// <summary>The assertions the tests use.</summary>
    internal static class Assert
    {
        internal static void True(bool condition, string what)
        {
            if (!condition)
            {
                throw new AssertionException(what);
            }
        }

        internal static void False(bool condition, string what)
        {
            True(!condition, what);
        }

        internal static void Equal<T>(T expected, T actual, string what = "value")
        {
            if (!EqualityComparer<T>.Default.Equals(expected, actual))
            {
                throw new AssertionException(what + ": expected " + Show(expected) + ", got " + Show(actual));
            }
        }

        internal static void Sequence<T>(IEnumerable<T> expected, IEnumerable<T> actual, string what = "sequence")
        {
            var e = new List<T>(expected);
            var a = new List<T>(actual);
            bool same = e.Count == a.Count;
            for (int i = 0; same && i < e.Count; i++)
            {
                same = EqualityComparer<T>.Default.Equals(e[i], a[i]);
            }
            if (!same)
            {
                throw new AssertionException(what + ": expected [" + string.Join(", ", e) + "], got [" + string.Join(", ", a) + "]");
            }
        }

        internal static void Json(object expected, object actual, string what = "JSON")
        {
            if (!Testing.Json.Equal(expected, actual))
            {
                throw new AssertionException(what + ": expected " + Testing.Json.Write(expected) + ", got " + Testing.Json.Write(actual));
            }
        }

        internal static T Throws<T>(Action action, string what = "the call") where T : Exception
        {
            try
            {
                action();
            }
            catch (T e)
            {
                return e;
            }
            catch (Exception e)
            {
                throw new AssertionException(what + ": expected " + typeof(T).Name + ", got " + e.GetType().Name + ": " + e.Message);
            }
            throw new AssertionException(what + ": expected " + typeof(T).Name + ", nothing was thrown");
        }

        private static string Show(object value)
        {
            if (value == null)
            {
                return "null";
            }
            string text = value as string;
            if (text != null)
            {
                return text.Length > 200 ? "\"" + text.Substring(0, 200) + "...\" (" + text.Length + " chars)" : "\"" + text + "\"";
            }
            byte[] bytes = value as byte[];
            if (bytes != null)
            {
                return bytes.Length > 100 ? Hex.Of(bytes).Substring(0, 200) + "... (" + bytes.Length + " bytes)" : Hex.Of(bytes);
            }
            return value.ToString();
        }
    }

    internal static class Hex
    {
        internal static byte[] Bytes(string hex)
        {
            if (hex.Length % 2 != 0)
            {
                throw new FormatException("odd-length hex");
            }
            var bytes = new byte[hex.Length / 2];
            for (int i = 0; i < bytes.Length; i++)
            {
                bytes[i] = (byte)(Digit(hex[2 * i]) << 4 | Digit(hex[2 * i + 1]));
            }
            return bytes;
        }

        internal static string Of(byte[] bytes)
        {
            var chars = new char[bytes.Length * 2];
            const string digits = "0123456789abcdef";
            for (int i = 0; i < bytes.Length; i++)
            {
                chars[2 * i] = digits[bytes[i] >> 4];
                chars[2 * i + 1] = digits[bytes[i] & 0xf];
            }
            return new string(chars);
        }

        private static int Digit(char c)
        {
            if (c >= '0' && c <= '9') return c - '0';
            if (c >= 'a' && c <= 'f') return c - 'a' + 10;
            if (c >= 'A' && c <= 'F') return c - 'A' + 10;
            throw new FormatException("not a hex digit");
        }
    }

    /// <summary>Runs named tests, one line each, then a closing <c>N passed, N failed</c> line.</summary>
    internal sealed class Harness
    {
        private readonly string filter;
        private readonly List<string> failures = new List<string>();
        private readonly List<string> ran = new List<string>();

        internal Harness(string filter)
        {
            this.filter = filter;
        }

        internal int Passed { get; private set; }
        internal bool Filtered { get { return filter != null; } }
        internal List<string> Ran { get { return ran; } }
        internal int Failed { get { return failures.Count; } }

        internal void Test(string name, Action body)
        {
            if (filter != null && name.IndexOf(filter, StringComparison.Ordinal) < 0)
            {
                return;
            }
            ran.Add(name);
            var clock = Stopwatch.StartNew();
            try
            {
                body();
                Passed++;
                Console.WriteLine("ok   " + name + Took(clock));
            }
            catch (Exception e)
            {
                failures.Add(name);
                string detail = e is AssertionException ? e.Message : e.GetType().Name + ": " + e.Message + "\n" + e.StackTrace;
                Console.WriteLine("FAIL " + name + Took(clock) + "\n    " + detail.Replace("\n", "\n    "));
            }
        }

        internal int Finish()
        {
            if (failures.Count > 0)
            {
                Console.WriteLine();
                Console.WriteLine("failed:");
                foreach (string name in failures)
                {
                    Console.WriteLine("    " + name);
                }
            }
            Console.WriteLine();
            Console.WriteLine(Passed + " passed, " + Failed + " failed");
            return Failed == 0 && Passed > 0 ? 0 : 1;
        }

        private static string Took(Stopwatch clock)
        {
            long ms = clock.ElapsedMilliseconds;
            return ms >= 100 ? " (" + ms + " ms)" : "";
        }
    }
}
