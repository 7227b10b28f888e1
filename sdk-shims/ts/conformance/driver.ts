/**
 * The conformance program of the TypeScript shim (integration/conformance/DRIVER.md).
 *
 * Reads one JSON request per line on stdin and writes one JSON answer per line on stdout, using
 * one context for the whole run: the real client, or the mock built from the JSON map named by
 * `$AX_CONFORMANCE_MOCK`. Run from sdk-shims/ts, after `npm run build`, as
 * `node dist/conformance/driver.js`.
 */

import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

import {
  AxiomContext,
  MockAxiomContext,
  SecretsUnavailableError,
  type AxiomContextLike,
} from "../src/index";

/** One answer line. */
export type Answer = Record<string, unknown>;

function makeContext(): AxiomContextLike {
  const mock = process.env["AX_CONFORMANCE_MOCK"];
  if (mock) {
    const secretsMap = JSON.parse(readFileSync(mock, "utf8")) as Record<string, string>;
    return new MockAxiomContext({ secretsMap });
  }
  return new AxiomContext();
}

async function getAnswer(ax: AxiomContextLike, name: string): Promise<Answer> {
  const [value, found] = await ax.secrets.get(name);
  return found ? { found: true, value } : { found: false };
}

/** `callers` callers at once, each doing `calls` gets in a row: every promise in flight. */
async function concurrentGet(
  ax: AxiomContextLike,
  name: string,
  callers: number,
  calls: number,
): Promise<Answer> {
  const caller = async (): Promise<Answer[]> => {
    const mine: Answer[] = [];
    for (let i = 0; i < calls; i++) {
      mine.push(await getAnswer(ax, name));
    }
    return mine;
  };
  const answers = await Promise.all(Array.from({ length: callers }, caller));
  const distinct: Answer[] = [];
  const seen = new Set<string>();
  for (const one of answers.flat()) {
    const key = JSON.stringify(one);
    if (!seen.has(key)) {
      seen.add(key);
      distinct.push(one);
    }
  }
  return { calls: answers.reduce((n, mine) => n + mine.length, 0), results: distinct };
}

/** The answer to one request (exported so the tests can run scenarios in process). */
export async function answer(
  ax: AxiomContextLike,
  request: Record<string, unknown>,
): Promise<Answer> {
  const op = request["op"];
  try {
    switch (op) {
      case "get":
        return await getAnswer(ax, request["name"] as string);
      case "exists":
        return { exists: await ax.secrets.exists(request["name"] as string) };
      case "list":
        return { names: (await ax.secrets.list()).map((info) => info.name) };
      case "list_info":
        return {
          secrets: (await ax.secrets.list()).map((info) => ({
            name: info.name,
            version: info.version,
            updated_at: info.updatedAt,
          })),
        };
      case "render": {
        const rendered = await ax.secrets.render(request["template"] as string);
        return { text: rendered.text, missing: rendered.missing };
      }
      case "redact": {
        const redacted = await ax.secrets.redact(request["text"] as string);
        return { text: redacted.text, found: redacted.found };
      }
      case "concurrent_get":
        return await concurrentGet(
          ax,
          request["name"] as string,
          request["callers"] as number,
          request["calls"] as number,
        );
      default:
        return { error: "unknown_op" };
    }
  } catch (error) {
    if (error instanceof SecretsUnavailableError) {
      const socket = process.env["AX_SECRETS_SOCKET"];
      return {
        error: "unavailable",
        mentions_socket: !!socket && error.message.includes(socket),
        code: error.code ?? null,
        mentions_uid: error.message.includes("uid"),
      };
    }
    const name = error instanceof Error ? error.name : typeof error;
    const message = error instanceof Error ? error.message : String(error);
    return { error: "unexpected", detail: `${name}: ${message}` };
  }
}

async function main(): Promise<void> {
  const ax = makeContext();
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === "") {
      continue;
    }
    const reply = await answer(ax, JSON.parse(line) as Record<string, unknown>);
    process.stdout.write(JSON.stringify(reply) + "\n");
  }
  await ax.close();
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`conformance driver failed: ${String(error)}\n`);
    process.exitCode = 1;
  });
}
