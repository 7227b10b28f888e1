using System.Net;
using System.Net.Sockets;

namespace Ax.Secrets
{
    /// <summary>The Unix-socket endpoint, the one place the two runtimes could differ.</summary>
    /// <remarks>
    /// <see cref="UnixDomainSocketEndPoint"/> is public in .NET (System.Net.Sockets, since
    /// .NET Core 2.1) and in Mono (its System.Core.dll, since Mono 5.x), in the same namespace,
    /// so one line compiles under both and no <c>#if</c> is needed.
    /// </remarks>
    internal static class Endpoints
    {
        internal static EndPoint Unix(string path)
        {
            return new UnixDomainSocketEndPoint(path);
        }
    }
}
