using System;
using System.IO;

namespace Ax.Secrets.Testing
{
    internal static class Paths
    {
        /// <summary>The Cargo workspace this shim lives in, found upwards from the test program.</summary>
        internal static string WorkspaceRoot()
        {
            foreach (string start in new[] { AppDomain.CurrentDomain.BaseDirectory, Directory.GetCurrentDirectory() })
            {
                var dir = new DirectoryInfo(start);
                while (dir != null)
                {
                    string cargo = Path.Combine(dir.FullName, "Cargo.toml");
                    if (File.Exists(cargo) && File.ReadAllText(cargo).Contains("[workspace]"))
                    {
                        return dir.FullName;
                    }
                    dir = dir.Parent;
                }
            }
            throw new InvalidOperationException("no Cargo workspace above the test program");
        }
    }
}
