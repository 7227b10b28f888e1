using System;

namespace Ax.Secrets
{
    /// <summary>The checks every <see cref="ISecrets"/> makes of a text argument, mock or not.</summary>
    internal static class Arguments
    {
        /// <summary>
        /// Refuses, before anything is encoded or sent, an argument that is null, not valid
        /// Unicode (a sidecar could not receive it), or by itself over the request limit.
        /// </summary>
        internal static void CheckText(string text, string parameter, string what, string kind)
        {
            if (text == null)
            {
                throw new ArgumentNullException(parameter);
            }
            int badIndex;
            int count = Utf8.ByteCount(text, out badIndex);
            if (count < 0)
            {
                throw new ArgumentException(ErrorMessages.NotUnicode(what, badIndex), parameter);
            }
            // The body is at least a one-byte id, the tag, the length and the text.
            long body = 2L + WireWriter.VarintLength((ulong)count) + count;
            if (body > Limits.MaxRequestBody)
            {
                throw new RequestTooLargeException(ErrorMessages.RequestTooLarge(kind, body), parameter);
            }
        }
    }
}
