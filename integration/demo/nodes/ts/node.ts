/**
 * The demo node in TypeScript: runs the operations it is given, one JSON line per result.
 *
 * Operations (the contract every demo node follows, see ../README.md):
 *   get NAME             {"op": "get", "name": NAME, "found": bool, "fingerprint": hex|null}
 *   get-or NAME DEFAULT  like get; when NAME is missing, uses DEFAULT and reports it
 *   print NAME           prints "NAME is <value>" (the platform log shows ***)
 *   wait                 reads one line from stdin (the demo changes something meanwhile)
 */

import { createHash } from "node:crypto";
import { createInterface } from "node:readline";

import { AxiomContext } from "../../../../sdk-shims/ts";

/** Twelve hex digits of SHA-256: shows which value was read without printing it. */
function fingerprint(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("hex").slice(0, 12);
}

function emit(record: object): void {
  process.stdout.write(JSON.stringify(record) + "\n");
}

async function main(args: string[]): Promise<number> {
  const ax = new AxiomContext();
  let stdin: AsyncIterator<string> | undefined; // opened at the first wait
  for (let i = 0; i < args.length; ) {
    const op = args[i] ?? "";
    if (op === "get") {
      const name = args[i + 1] ?? "";
      const [value, ok] = await ax.secrets.get(name);
      emit({ op: "get", name, found: ok, fingerprint: ok ? fingerprint(value) : null });
      i += 2;
    } else if (op === "get-or") {
      const name = args[i + 1] ?? "";
      const fallback = args[i + 2] ?? "";
      const [value, ok] = await ax.secrets.get(name);
      emit({
        op: "get-or",
        name,
        found: ok,
        fingerprint: ok ? fingerprint(value) : null,
        used: ok ? null : fallback,
      });
      i += 3;
    } else if (op === "print") {
      const name = args[i + 1] ?? "";
      const [value] = await ax.secrets.get(name);
      process.stdout.write(`${name} is ${value}\n`);
      i += 2;
    } else if (op === "wait") {
      stdin ??= createInterface({ input: process.stdin })[Symbol.asyncIterator]();
      await stdin.next();
      i += 1;
    } else {
      emit({ op, error: "unknown operation" });
      return 2;
    }
  }
  return 0;
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
  process.stdin.destroy();
});
