// The demo node in C#: runs the operations it is given, one JSON line per result.
//
// Operations (the contract every demo node follows, see ../README.md):
//   get NAME             {"op": "get", "name": NAME, "found": bool, "fingerprint": hex|null}
//   get-or NAME DEFAULT  like get; when NAME is missing, uses DEFAULT and reports it
//   print NAME           prints "NAME is <value>" (the platform log shows ***)
//   wait                 reads one line from stdin (the demo changes something meanwhile)

using System;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using Ax.Secrets;

public static class Node
{
    // Twelve hex digits of SHA-256: shows which value was read without printing it.
    static string Fingerprint(string value)
    {
        using (var sha = SHA256.Create())
        {
            var sum = sha.ComputeHash(Encoding.UTF8.GetBytes(value));
            return string.Concat(sum.Take(6).Select(b => b.ToString("x2")));
        }
    }

    // A JSON value: a string, a boolean or null.
    static string Json(object v)
    {
        if (v == null) return "null";
        if (v is bool b) return b ? "true" : "false";
        var out_ = new StringBuilder("\"");
        foreach (var c in (string)v)
        {
            if (c == '"' || c == '\\') out_.Append('\\').Append(c);
            else if (c < 0x20) out_.AppendFormat("\\u{0:x4}", (int)c);
            else out_.Append(c);
        }
        return out_.Append('"').ToString();
    }

    // Prints one JSON object from its keys and values, in order.
    static void Emit(params object[] keysAndValues)
    {
        var fields = Enumerable.Range(0, keysAndValues.Length / 2)
            .Select(k => Json(keysAndValues[2 * k]) + ": " + Json(keysAndValues[2 * k + 1]));
        Console.WriteLine("{" + string.Join(", ", fields) + "}");
    }

    public static int Main(string[] args)
    {
        using (var ax = new AxiomContext())
        {
            for (var i = 0; i < args.Length;)
            {
                var op = args[i];
                if (op == "get" && i + 1 < args.Length)
                {
                    var name = args[i + 1];
                    var secret = ax.Secrets().Get(name);
                    Emit("op", "get", "name", name, "found", secret.Found,
                        "fingerprint", secret.Found ? Fingerprint(secret.Value) : null);
                    i += 2;
                }
                else if (op == "get-or" && i + 2 < args.Length)
                {
                    var name = args[i + 1];
                    var fallback = args[i + 2];
                    var secret = ax.Secrets().Get(name);
                    Emit("op", "get-or", "name", name, "found", secret.Found,
                        "fingerprint", secret.Found ? Fingerprint(secret.Value) : null,
                        "used", secret.Found ? null : fallback);
                    i += 3;
                }
                else if (op == "print" && i + 1 < args.Length)
                {
                    var name = args[i + 1];
                    Console.WriteLine(name + " is " + ax.Secrets().Get(name).Value);
                    i += 2;
                }
                else if (op == "wait")
                {
                    Console.In.ReadLine();
                    i += 1;
                }
                else
                {
                    Emit("op", op, "error", "unknown operation");
                    return 2;
                }
            }
        }
        return 0;
    }
}
