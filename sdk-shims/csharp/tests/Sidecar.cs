using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Text;
using System.Threading;

namespace Ax.Secrets.Testing
{
    /// <summary>
    /// A real ax-sidecar built from this repository, serving a bundle sealed for the test.
    /// </summary>
    /// <remarks>
    /// The binary is <c>$AX_SIDECAR_BIN</c> when set, else <c>cargo build -q -p ax-sidecar</c>
    /// runs at the workspace root and <c>target/debug/ax-sidecar</c> is used. Mono cannot hand
    /// a child an extra descriptor, so a small bash script opens a named pipe as the child's
    /// fd 3 (<c>--ready-fd 3</c>); the sidecar is ready when <c>READY\n</c> arrives on it.
    /// Nothing here sleeps.
    /// </remarks>
    internal sealed class Sidecar : IDisposable
    {
        private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
        private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);
        private static string binary;

        private const string Launcher =
            "# start.sh FIFO LOG BINARY ARGS...: runs BINARY with fd 3 writing to FIFO\n" +
            "fifo=$1; log=$2; shift 2\n" +
            "exec \"$@\" 3>\"$fifo\" >\"$log\" 2>&1 </dev/null\n";

        private readonly string work;
        private Process process;
        private int starts;

        internal Sidecar(Dictionary<string, object> secrets, Dictionary<string, object> overrides = null, string token = null)
        {
            work = Scratch.NewDirectory("sidecar");
            Socket = Path.Combine(work, "run", "s.sock");
            Token = token;
            var spec = new Dictionary<string, object>
            {
                { "secrets", secrets },
                { "overrides", overrides ?? new Dictionary<string, object>() },
            };
            File.WriteAllText(Path.Combine(work, "secrets.json"), Json.Write(spec), new UTF8Encoding(false));
            Scratch.Run(Binary(), "seal --input " + Quote(Path.Combine(work, "secrets.json"))
                + " --key-file " + Quote(Path.Combine(work, "key"))
                + " --output " + Quote(Path.Combine(work, "bundle")) + " --new-key");
            if (token != null)
            {
                File.WriteAllText(Path.Combine(work, "token"), token, new UTF8Encoding(false));
            }
            File.WriteAllText(Path.Combine(work, "start.sh"), Launcher);
        }

        internal string Socket { get; }
        internal string Token { get; }

        /// <summary>Further <c>serve</c> arguments for the next <see cref="Start"/>, e.g. <c>--allow-uid</c>.</summary>
        internal List<string> Extra { get; } = new List<string>();

        internal static string NewToken()
        {
            return Guid.NewGuid().ToString("N");
        }

        /// <summary>The sidecar binary, built once per run when <c>$AX_SIDECAR_BIN</c> is unset.</summary>
        internal static string Binary()
        {
            if (binary != null)
            {
                return binary;
            }
            string given = Environment.GetEnvironmentVariable("AX_SIDECAR_BIN");
            if (!string.IsNullOrEmpty(given))
            {
                return binary = given;
            }
            string root = Paths.WorkspaceRoot();
            var info = new ProcessStartInfo("cargo", "build -q -p ax-sidecar") { UseShellExecute = false, WorkingDirectory = root };
            using (Process cargo = Process.Start(info))
            {
                cargo.WaitForExit();
                if (cargo.ExitCode != 0)
                {
                    throw new InvalidOperationException("cargo build -p ax-sidecar exited " + cargo.ExitCode);
                }
            }
            return binary = Path.Combine(root, "target", "debug", "ax-sidecar");
        }

        internal void Start()
        {
            starts++;
            string fifo = Path.Combine(work, "ready-" + starts);
            string log = Path.Combine(work, "sidecar-" + starts + ".log");
            Scratch.Run("mkfifo", Quote(fifo));
            var args = new StringBuilder();
            args.Append(Quote(Path.Combine(work, "start.sh"))).Append(' ').Append(Quote(fifo)).Append(' ').Append(Quote(log))
                .Append(' ').Append(Quote(Binary())).Append(" serve")
                .Append(" --socket ").Append(Quote(Socket))
                .Append(" --bundle-file ").Append(Quote(Path.Combine(work, "bundle")))
                .Append(" --key-file ").Append(Quote(Path.Combine(work, "key")))
                .Append(" --audit-file ").Append(Quote(Path.Combine(work, "audit.jsonl")))
                .Append(" --ready-fd 3");
            if (Token != null)
            {
                args.Append(" --client-token-file ").Append(Quote(Path.Combine(work, "token")));
            }
            foreach (string arg in Extra)
            {
                args.Append(' ').Append(Quote(arg));
            }
            process = Process.Start(new ProcessStartInfo("bash", args.ToString()) { UseShellExecute = false });
            string ready = ReadReady(fifo);
            if (ready != "READY\n")
            {
                Kill();
                throw new InvalidOperationException("the sidecar did not become ready (read '" + ready + "'):\n"
                    + (File.Exists(log) ? File.ReadAllText(log) : "(no log)"));
            }
        }

        /// <summary>Stops the sidecar with SIGTERM and returns its exit code.</summary>
        internal int Stop()
        {
            Process p = process;
            if (p == null)
            {
                return 0;
            }
            process = null;
            Scratch.Run("kill", "-TERM " + p.Id);
            if (!p.WaitForExit((int)StopTimeout.TotalMilliseconds))
            {
                p.Kill();
                p.WaitForExit();
                throw new InvalidOperationException("the sidecar did not stop within 30 s of SIGTERM");
            }
            int code = p.ExitCode;
            p.Dispose();
            return code;
        }

        internal void Restart()
        {
            Stop();
            Start();
        }

        public void Dispose()
        {
            try
            {
                Stop();
            }
            finally
            {
                Scratch.Remove(work);
            }
        }

        private void Kill()
        {
            if (process != null)
            {
                try
                {
                    process.Kill();
                }
                catch (InvalidOperationException)
                {
                }
                process.WaitForExit();
                process = null;
            }
        }

        /// <summary>
        /// Reads the ready pipe until a line or end of file. Opening the pipe blocks until the
        /// launcher opens its end, so it runs on a thread with a deadline; on time-out the pipe
        /// is opened for writing here to let that thread go.
        /// </summary>
        private static string ReadReady(string fifo)
        {
            string line = null;
            var reader = new Thread(() =>
            {
                var data = new StringBuilder();
                using (var stream = new FileStream(fifo, FileMode.Open, FileAccess.Read))
                {
                    int b;
                    while ((b = stream.ReadByte()) >= 0)
                    {
                        data.Append((char)b);
                        if (b == '\n')
                        {
                            break;
                        }
                    }
                }
                line = data.ToString();
            }) { IsBackground = true };
            reader.Start();
            if (!reader.Join(StartTimeout))
            {
                using (new FileStream(fifo, FileMode.Open, FileAccess.Write))
                {
                }
                reader.Join();
                return "(nothing within " + StartTimeout.TotalSeconds + " s)";
            }
            return line;
        }

        private static string Quote(string argument)
        {
            return "\"" + argument.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
        }
    }
}
