using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Threading;
using Ax.Secrets.Testing;

namespace Ax.Secrets.Conformance
{
    /// <summary>
    /// Answers the requests of the conformance suite (integration/conformance/DRIVER.md) with
    /// one context, through the shim's public API only.
    /// </summary>
    internal sealed class Driver
    {
        private readonly IAxiomContext ax;

        internal Driver(IAxiomContext ax)
        {
            this.ax = ax;
        }

        /// <summary>The real client, or the mock built from the JSON map named by <c>$AX_CONFORMANCE_MOCK</c>.</summary>
        internal static IAxiomContext MakeContext()
        {
            string mock = Environment.GetEnvironmentVariable("AX_CONFORMANCE_MOCK");
            if (string.IsNullOrEmpty(mock))
            {
                return new AxiomContext();
            }
            var map = new Dictionary<string, string>();
            foreach (KeyValuePair<string, object> entry in (Dictionary<string, object>)Json.Parse(File.ReadAllText(mock, Encoding.UTF8)))
            {
                map.Add(entry.Key, (string)entry.Value);
            }
            return new MockAxiomContext(map);
        }

        internal Dictionary<string, object> Answer(Dictionary<string, object> request)
        {
            object op;
            request.TryGetValue("op", out op);
            try
            {
                switch (op as string)
                {
                    case "get":
                        return GetAnswer((string)request["name"]);
                    case "exists":
                        return new Dictionary<string, object> { { "exists", ax.Secrets().Exists((string)request["name"]) } };
                    case "list":
                        var names = new List<object>();
                        foreach (SecretInfo info in ax.Secrets().List())
                        {
                            names.Add(info.Name);
                        }
                        return new Dictionary<string, object> { { "names", names } };
                    case "list_info":
                        var secrets = new List<object>();
                        foreach (SecretInfo info in ax.Secrets().List())
                        {
                            secrets.Add(new Dictionary<string, object>
                            {
                                { "name", info.Name },
                                { "version", info.Version },
                                { "updated_at", info.UpdatedAtUnixSeconds },
                            });
                        }
                        return new Dictionary<string, object> { { "secrets", secrets } };
                    case "render":
                        Rendered rendered = ax.Secrets().Render((string)request["template"]);
                        return new Dictionary<string, object> { { "text", rendered.Text }, { "missing", rendered.Missing } };
                    case "redact":
                        Redacted redacted = ax.Secrets().Redact((string)request["text"]);
                        return new Dictionary<string, object> { { "text", redacted.Text }, { "found", redacted.Found } };
                    case "concurrent_get":
                        return ConcurrentGet((string)request["name"], (int)(long)request["callers"], (int)(long)request["calls"]);
                    default:
                        return new Dictionary<string, object> { { "error", "unknown_op" } };
                }
            }
            catch (SecretsUnavailableException e)
            {
                string socket = Environment.GetEnvironmentVariable("AX_SECRETS_SOCKET");
                bool mentions = !string.IsNullOrEmpty(socket) && e.Message.Contains(socket);
                return new Dictionary<string, object>
                {
                    { "error", "unavailable" },
                    { "mentions_socket", mentions },
                    { "code", e.Code.HasValue ? e.Code.Value.ToString() : null },
                    { "mentions_uid", e.Message.Contains("uid") },
                };
            }
            catch (Exception e)
            {
                return new Dictionary<string, object> { { "error", "unexpected" }, { "detail", e.GetType().Name + ": " + e.Message } };
            }
        }

        private Dictionary<string, object> GetAnswer(string name)
        {
            var got = ax.Secrets().Get(name);
            return got.Found
                ? new Dictionary<string, object> { { "found", true }, { "value", got.Value } }
                : new Dictionary<string, object> { { "found", false } };
        }

        /// <summary>
        /// <paramref name="callers"/> threads at once on the one context, each doing
        /// <paramref name="calls"/> gets; the distinct answers in order of first appearance.
        /// </summary>
        private Dictionary<string, object> ConcurrentGet(string name, int callers, int calls)
        {
            var answers = new List<Dictionary<string, object>>[callers];
            var failures = new Exception[callers];
            var start = new Barrier(callers);
            var threads = new Thread[callers];
            for (int i = 0; i < callers; i++)
            {
                int mine = i;
                answers[mine] = new List<Dictionary<string, object>>(calls);
                threads[mine] = new Thread(() =>
                {
                    // Nothing can fail before the barrier, so no caller is left waiting on it.
                    start.SignalAndWait();
                    try
                    {
                        for (int k = 0; k < calls; k++)
                        {
                            answers[mine].Add(GetAnswer(name));
                        }
                    }
                    catch (Exception e)
                    {
                        failures[mine] = e;
                    }
                });
                threads[mine].Start();
            }
            foreach (Thread thread in threads)
            {
                thread.Join();
            }
            foreach (Exception failure in failures)
            {
                if (failure != null)
                {
                    // Rethrown so that Answer reports it like any other call's failure.
                    throw failure;
                }
            }
            var distinct = new List<object>();
            long total = 0;
            foreach (List<Dictionary<string, object>> list in answers)
            {
                total += list.Count;
                foreach (Dictionary<string, object> one in list)
                {
                    bool seen = false;
                    foreach (object known in distinct)
                    {
                        seen = seen || Json.Equal(known, one);
                    }
                    if (!seen)
                    {
                        distinct.Add(one);
                    }
                }
            }
            return new Dictionary<string, object> { { "calls", total }, { "results", distinct } };
        }
    }
}
