using System;
using System.Collections.Generic;
using System.Text;

namespace Ax.Secrets
{
    /// <summary>One piece of a template: literal text, or a reference to a secret.</summary>
    internal sealed class Segment
    {
        private Segment(string text, string name)
        {
            Text = text;
            Name = name;
        }

        /// <summary>Literal text.</summary>
        internal static Segment Literal(string text) { return new Segment(text, null); }

        /// <summary>A reference to <paramref name="name"/>, written as <paramref name="raw"/>.</summary>
        internal static Segment Reference(string name, string raw) { return new Segment(raw, name); }

        /// <summary>The literal text, or the whole reference as written.</summary>
        internal string Text { get; }

        /// <summary>The referenced name; null for literal text.</summary>
        internal string Name { get; }

        internal bool IsReference { get { return Name != null; } }

        public override bool Equals(object obj)
        {
            var other = obj as Segment;
            return other != null && other.Text == Text && other.Name == Name;
        }

        public override int GetHashCode() { return Text.GetHashCode(); }

        public override string ToString()
        {
            return IsReference ? "Reference(" + Name + ")" : "Text(" + Text.Length + " chars)";
        }
    }

    /// <summary>
    /// <c>{{secrets.NAME}}</c> templates (PROTOCOL.md §8.3), as the sidecar renders them.
    /// </summary>
    /// <remarks>
    /// A reference is <c>{{</c>, optional whitespace (space, tab, CR, LF), <c>secrets.</c>, a
    /// valid name, optional whitespace, <c>}}</c>. Anything else is literal text; there is no
    /// escape syntax. At each <c>{{</c> that does not start a reference, the first <c>{</c> is
    /// text and scanning goes on at the next character, so <c>{{{secrets.A}}}</c> is <c>{</c>,
    /// a reference, <c>}</c>. The name is the longest run of name characters after
    /// <c>secrets.</c>. Rendering is one pass: a value holding <c>{{secrets.X}}</c> is inserted
    /// as it is, never expanded.
    /// </remarks>
    internal static class Template
    {
        private const string Keyword = "secrets.";

        /// <summary>Splits <paramref name="template"/> into text and references, adjacent text joined.</summary>
        internal static List<Segment> Segments(string template)
        {
            var segments = new List<Segment>();
            int textStart = 0;
            int i = 0;
            while (i + 1 < template.Length)
            {
                if (template[i] == '{' && template[i + 1] == '{')
                {
                    int nameStart, nameEnd;
                    int end = ReferenceEnd(template, i, out nameStart, out nameEnd);
                    if (end > 0)
                    {
                        if (i > textStart)
                        {
                            segments.Add(Segment.Literal(template.Substring(textStart, i - textStart)));
                        }
                        segments.Add(Segment.Reference(
                            template.Substring(nameStart, nameEnd - nameStart),
                            template.Substring(i, end - i)));
                        i = textStart = end;
                        continue;
                    }
                }
                i++;
            }
            if (textStart < template.Length)
            {
                segments.Add(Segment.Literal(template.Substring(textStart)));
            }
            return segments;
        }

        /// <summary>
        /// Renders <paramref name="template"/>, resolving each name with <paramref name="lookup"/>
        /// (null: not found). A reference to a missing name stays exactly as written; the names
        /// missing are returned each once, in order of first appearance.
        /// </summary>
        internal static string Render(string template, Func<string, string> lookup, out List<string> missing)
        {
            missing = new List<string>();
            var text = new StringBuilder(template.Length);
            foreach (Segment segment in Segments(template))
            {
                if (!segment.IsReference)
                {
                    text.Append(segment.Text);
                    continue;
                }
                string value = lookup(segment.Name);
                if (value == null)
                {
                    text.Append(segment.Text);
                    if (!missing.Contains(segment.Name))
                    {
                        missing.Add(segment.Name);
                    }
                }
                else
                {
                    text.Append(value);
                }
            }
            return text.ToString();
        }

        /// <summary>
        /// The end of the reference starting with the <c>{{</c> at <paramref name="start"/>, or
        /// -1 when none starts there; the name's bounds through the out parameters.
        /// </summary>
        private static int ReferenceEnd(string t, int start, out int nameStart, out int nameEnd)
        {
            nameStart = nameEnd = 0;
            int i = SkipSpace(t, start + 2);
            if (string.CompareOrdinal(t, i, Keyword, 0, Keyword.Length) != 0)
            {
                return -1;
            }
            i += Keyword.Length;
            if (i >= t.Length || !Names.IsLetter(t[i]))
            {
                return -1;
            }
            nameStart = i;
            while (i < t.Length && Names.IsNameChar(t[i]))
            {
                i++;
            }
            nameEnd = i;
            if (nameEnd - nameStart > Limits.MaxNameLength)
            {
                return -1;
            }
            i = SkipSpace(t, i);
            if (i + 1 < t.Length && t[i] == '}' && t[i + 1] == '}')
            {
                return i + 2;
            }
            return -1;
        }

        private static int SkipSpace(string t, int i)
        {
            while (i < t.Length && (t[i] == ' ' || t[i] == '\t' || t[i] == '\r' || t[i] == '\n'))
            {
                i++;
            }
            return i;
        }
    }
}
