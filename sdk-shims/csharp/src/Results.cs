using System;
using System.Collections.Generic;

namespace Ax.Secrets
{
    /// <summary>
    /// Metadata of one secret; never its value. An override and a tenant value look the same:
    /// node code cannot tell them apart (operators see overrides in the console).
    /// </summary>
    public sealed class SecretInfo
    {
        /// <summary>Creates the metadata of one secret.</summary>
        public SecretInfo(string name, uint version, ulong updatedAtUnixSeconds)
        {
            Name = name ?? throw new ArgumentNullException(nameof(name));
            Version = version;
            UpdatedAtUnixSeconds = updatedAtUnixSeconds;
        }

        /// <summary>The secret's name.</summary>
        public string Name { get; }

        /// <summary>Counts replacements in the console (1 for the first value).</summary>
        public uint Version { get; }

        /// <summary>When the current value was set, in seconds since the Unix epoch (UTC).</summary>
        public ulong UpdatedAtUnixSeconds { get; }

        /// <summary>
        /// When the current value was set; <see cref="DateTimeOffset.MaxValue"/> for a time past
        /// the year 9999, which <see cref="DateTimeOffset"/> cannot hold.
        /// </summary>
        public DateTimeOffset UpdatedAt
        {
            get
            {
                const ulong last = 253402300799; // 9999-12-31T23:59:59Z
                return UpdatedAtUnixSeconds > last
                    ? DateTimeOffset.MaxValue
                    : DateTimeOffset.FromUnixTimeSeconds((long)UpdatedAtUnixSeconds);
            }
        }

        /// <inheritdoc/>
        public override bool Equals(object obj)
        {
            var other = obj as SecretInfo;
            return other != null && other.Name == Name && other.Version == Version
                && other.UpdatedAtUnixSeconds == UpdatedAtUnixSeconds;
        }

        /// <inheritdoc/>
        public override int GetHashCode()
        {
            return Name.GetHashCode() ^ (int)Version ^ UpdatedAtUnixSeconds.GetHashCode();
        }

        /// <inheritdoc/>
        public override string ToString()
        {
            return "SecretInfo(" + Name + ", version " + Version + ", updated at " + UpdatedAtUnixSeconds + ")";
        }
    }

    /// <summary>A rendered template: the text, and the names referenced but not found.</summary>
    public sealed class Rendered
    {
        /// <summary>Creates a rendered template.</summary>
        public Rendered(string text, IReadOnlyList<string> missing)
        {
            Text = text ?? throw new ArgumentNullException(nameof(text));
            Missing = missing ?? throw new ArgumentNullException(nameof(missing));
        }

        /// <summary>The template with every reference to a found secret replaced by its value.</summary>
        public string Text { get; }

        /// <summary>The names referenced but not found, each once, in order of first appearance.</summary>
        public IReadOnlyList<string> Missing { get; }

        /// <summary>Leaves the text out: it holds secret values.</summary>
        public override string ToString()
        {
            return "Rendered(text=[redacted], missing=[" + string.Join(", ", Missing) + "])";
        }
    }

    /// <summary>A redacted text (every value replaced by <c>***</c>) and the names found.</summary>
    public sealed class Redacted
    {
        /// <summary>Creates a redacted text.</summary>
        public Redacted(string text, IReadOnlyList<string> found)
        {
            Text = text ?? throw new ArgumentNullException(nameof(text));
            Found = found ?? throw new ArgumentNullException(nameof(found));
        }

        /// <summary>The text with every value, in every form, replaced by <c>***</c>.</summary>
        public string Text { get; }

        /// <summary>The names whose value occurred in any form, each once, sorted.</summary>
        public IReadOnlyList<string> Found { get; }

        /// <summary>Leaves the text out: a value in a form not redacted could still be in it.</summary>
        public override string ToString()
        {
            return "Redacted(text=[" + Text.Length + " chars], found=[" + string.Join(", ", Found) + "])";
        }
    }
}
