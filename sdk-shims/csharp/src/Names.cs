using System.Text;

namespace Ax.Secrets
{
    /// <summary>
    /// The secret-name rule (PROTOCOL.md §8.1): <c>^[A-Za-z][A-Za-z0-9_]{0,127}$</c>,
    /// case-sensitive.
    /// </summary>
    /// <remarks>
    /// A string that breaks the rule is "not found" without a round trip: it may be a value
    /// pasted by mistake, and it never leaves the process.
    /// </remarks>
    internal static class Names
    {
        /// <summary>Whether <paramref name="name"/> is a valid secret name.</summary>
        internal static bool IsValid(string name)
        {
            int length = name.Length;
            if (length == 0 || length > Limits.MaxNameLength || !IsLetter(name[0]))
            {
                return false;
            }
            for (int i = 1; i < length; i++)
            {
                if (!IsNameChar(name[i]))
                {
                    return false;
                }
            }
            return true;
        }

        /// <summary>
        /// What is wrong with <paramref name="name"/>, named as in <c>names.json</c>, or null
        /// when it is valid: <c>Empty</c>, <c>TooLong</c> (over 128 UTF-8 bytes),
        /// <c>BadFirstCharacter</c> or <c>BadCharacter</c>, checked in that order.
        /// </summary>
        internal static string Problem(string name)
        {
            if (name.Length == 0)
            {
                return "Empty";
            }
            // A lone surrogate counts as the three bytes of U+FFFD, as if encoded with
            // surrogates allowed: either way it is not a name.
            if (Encoding.UTF8.GetByteCount(name) > Limits.MaxNameLength)
            {
                return "TooLong";
            }
            if (!IsLetter(name[0]))
            {
                return "BadFirstCharacter";
            }
            for (int i = 1; i < name.Length; i++)
            {
                if (!IsNameChar(name[i]))
                {
                    return "BadCharacter";
                }
            }
            return null;
        }

        internal static bool IsLetter(char c)
        {
            return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        }

        internal static bool IsNameChar(char c)
        {
            return IsLetter(c) || (c >= '0' && c <= '9') || c == '_';
        }
    }
}
