using System;
using System.IO;

namespace Ax.Secrets
{
    /// <summary>This process's uid, for the message of a refused uid (the sidecar checks <c>SO_PEERCRED</c>).</summary>
    /// <remarks>
    /// Neither .NET nor Mono offers <c>getuid()</c> in the base library, and a P/Invoke would
    /// need a library name that differs between the two runtimes; the real uid is the first
    /// field of the <c>Uid:</c> line of <c>/proc/self/status</c>. -1 when that cannot be read.
    /// </remarks>
    internal static class ProcessUid
    {
        internal static long Get()
        {
            try
            {
                foreach (string line in File.ReadAllLines("/proc/self/status"))
                {
                    if (line.StartsWith("Uid:", StringComparison.Ordinal))
                    {
                        string[] fields = line.Substring(4).Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
                        long uid;
                        if (fields.Length > 0 && long.TryParse(fields[0], out uid))
                        {
                            return uid;
                        }
                    }
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
            return -1;
        }
    }
}
