using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Ax.Secrets.Testing;

namespace Ax.Secrets.Conformance
{
    /// <summary>
    /// The conformance program (DRIVER.md): one JSON request per line on stdin, one JSON answer
    /// per line on stdout, one context for the whole run. Run as <c>mono build/Conformance.exe</c>.
    /// </summary>
    internal static class Program
    {
        private static int Main()
        {
            var utf8 = new UTF8Encoding(false);
            var input = new StreamReader(Console.OpenStandardInput(), utf8);
            Stream output = Console.OpenStandardOutput();
            using (IAxiomContext ax = Driver.MakeContext())
            {
                var driver = new Driver(ax);
                string line;
                while ((line = input.ReadLine()) != null)
                {
                    if (line.Trim().Length == 0)
                    {
                        continue;
                    }
                    var request = (Dictionary<string, object>)Json.Parse(line);
                    byte[] answer = utf8.GetBytes(Json.Write(driver.Answer(request)) + "\n");
                    output.Write(answer, 0, answer.Length);
                    output.Flush();
                }
            }
            return 0;
        }
    }
}
