using System;
using System.Collections.Generic;
using System.Text;

namespace Ax.Secrets
{
    /// <summary>
    /// The redaction engine of the mock, matching the sidecar's (PROTOCOL.md §8.4): every form
    /// of every non-empty value, matched at once, leftmost-longest, without overlaps.
    /// </summary>
    /// <remarks>
    /// The patterns are bucketed by their first character, longest first, so the first pattern
    /// that matches at a position is the longest one there; the scan then goes on after it.
    /// That is the leftmost-longest rule of the sidecar's Aho-Corasick automaton. Matching the
    /// UTF-16 units of a string finds the same matches as the sidecar's matching of UTF-8
    /// bytes: a pattern that is a valid string can only match a valid text at character
    /// boundaries, in either encoding.
    /// </remarks>
    internal sealed class Redactor
    {
        private sealed class Pattern
        {
            internal Pattern(string text) { Text = text; Owners = new List<string>(); }
            internal string Text { get; }
            internal List<string> Owners { get; }
        }

        private readonly Dictionary<char, Pattern[]> byFirst = new Dictionary<char, Pattern[]>();

        /// <summary>Builds the matcher for every non-empty value of <paramref name="secrets"/>.</summary>
        internal Redactor(IEnumerable<KeyValuePair<string, string>> secrets)
        {
            var patterns = new Dictionary<string, Pattern>(StringComparer.Ordinal);
            foreach (KeyValuePair<string, string> secret in secrets)
            {
                if (System.Text.Encoding.UTF8.GetByteCount(secret.Value) < Limits.MinRedactedLength)
                {
                    continue;
                }
                foreach (string form in Encodings.Forms(secret.Value))
                {
                    Pattern pattern;
                    if (!patterns.TryGetValue(form, out pattern))
                    {
                        pattern = new Pattern(form);
                        patterns.Add(form, pattern);
                    }
                    if (!pattern.Owners.Contains(secret.Key))
                    {
                        pattern.Owners.Add(secret.Key);
                    }
                }
            }
            var buckets = new Dictionary<char, List<Pattern>>();
            foreach (Pattern pattern in patterns.Values)
            {
                List<Pattern> bucket;
                if (!buckets.TryGetValue(pattern.Text[0], out bucket))
                {
                    bucket = new List<Pattern>();
                    buckets.Add(pattern.Text[0], bucket);
                }
                bucket.Add(pattern);
            }
            foreach (KeyValuePair<char, List<Pattern>> bucket in buckets)
            {
                bucket.Value.Sort((a, b) => b.Text.Length.CompareTo(a.Text.Length));
                byFirst.Add(bucket.Key, bucket.Value.ToArray());
            }
        }

        /// <summary>
        /// <paramref name="text"/> with every match replaced by <c>***</c>, and the names of the
        /// secrets found, sorted (ordinal, which is bytewise for names) and each once.
        /// </summary>
        internal string Redact(string text, out List<string> found)
        {
            found = new List<string>();
            if (byFirst.Count == 0)
            {
                return text;
            }
            var out_ = new StringBuilder(text.Length);
            int copied = 0;
            int i = 0;
            while (i < text.Length)
            {
                Pattern hit = null;
                Pattern[] bucket;
                if (byFirst.TryGetValue(text[i], out bucket))
                {
                    foreach (Pattern pattern in bucket)
                    {
                        if (pattern.Text.Length <= text.Length - i
                            && string.CompareOrdinal(text, i, pattern.Text, 0, pattern.Text.Length) == 0)
                        {
                            hit = pattern;
                            break;
                        }
                    }
                }
                if (hit == null)
                {
                    i++;
                    continue;
                }
                out_.Append(text, copied, i - copied).Append(Limits.RedactionMark);
                foreach (string owner in hit.Owners)
                {
                    if (!found.Contains(owner))
                    {
                        found.Add(owner);
                    }
                }
                i = copied = i + hit.Text.Length;
            }
            out_.Append(text, copied, text.Length - copied);
            found.Sort(StringComparer.Ordinal);
            return out_.ToString();
        }

        public override string ToString()
        {
            int count = 0;
            foreach (Pattern[] bucket in byFirst.Values)
            {
                count += bucket.Length;
            }
            return "Redactor(patterns=" + count + ")";
        }
    }
}
