using System;
using System.IO;
using System.Text.RegularExpressions;

namespace Ax.Secrets.Testing
{
    /// <summary>
    /// The test program: <c>mono build/Tests.exe [FILTER]</c> runs every test (or those whose
    /// name contains FILTER), prints one line per test and a closing <c>N passed, N failed</c>
    /// line, and exits 1 on any failure.
    /// </summary>
    internal static class Program
    {
        private static int Main(string[] args)
        {
            var h = new Harness(args.Length > 0 ? args[0] : null);
            VectorTests.Register(h);
            WireTests.Register(h);
            MockTests.Register(h);
            ClientTests.Register(h);
            RaceTests.Register(h);
            LiveTests.Register(h);
            if (!h.Filtered)
            {
                h.Test("harness: every test written in tests/*.cs ran", () => EveryTestRan(h));
            }
            int code = h.Finish();
            LiveTests.Cleanup();
            return code;
        }

        /// <summary>
        /// mcs has dropped whole statements without a word (see build.sh), so the program checks
        /// that each test name written in the sources is among the tests that ran.
        /// </summary>
        private static void EveryTestRan(Harness h)
        {
            string dir = Path.Combine(Paths.WorkspaceRoot(), "sdk-shims", "csharp", "tests");
            int written = 0;
            foreach (string file in Directory.GetFiles(dir, "*.cs"))
            {
                foreach (Match m in Regex.Matches(File.ReadAllText(file), "h\\.Test\\(\"((?:[^\"\\\\]|\\\\.)*)\""))
                {
                    string name = Regex.Unescape(m.Groups[1].Value);
                    if (name == "harness: every test written in tests/*.cs ran")
                    {
                        continue;
                    }
                    written++;
                    Assert.True(h.Ran.Exists(r => r.StartsWith(name, StringComparison.Ordinal)), "never ran: " + name);
                }
            }
            Assert.True(written > 50, "found only " + written + " tests in " + dir);
        }
    }
}
