/** The client against a real ax-sidecar built from this repository. */

import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { inspect } from "node:util";

import {
  AxiomContext,
  MockAxiomContext,
  Redacted,
  SecretsUnavailableError,
  type SecretInfo,
} from "../src/index";
import { Sidecars, newToken, type SecretSpec, type Sidecar } from "./sidecar";

const BIG = "0123456789abcdef".repeat((1024 * 1024) / 16); // exactly 1 MiB
const SECRETS: Record<string, SecretSpec> = {
  OPENAI_API_KEY: "sk-live-4f2b9c",
  EMPTY: "",
  UNICODE: "pässwörd-密码-🔑",
  DB_URL: { value: "postgres://u:p@db/x", version: 3, updated_at: 1795000000 },
  WEBHOOK: "whk_tenant",
  SHORT: "k9",
};
const OVERRIDES: Record<string, SecretSpec> = {
  WEBHOOK: { value: "whk_override", version: 9, updated_at: 1796000000 },
  ONLY_OVERRIDE: "only",
};

const sidecars = new Sidecars();
after(() => sidecars.stopAll());

async function unavailable(promise: Promise<unknown>): Promise<SecretsUnavailableError> {
  const error = await promise.then(
    () => assert.fail("the promise resolved"),
    (e: unknown) => e,
  );
  assert.ok(
    error instanceof SecretsUnavailableError,
    `not SecretsUnavailableError: ${String(error)}`,
  );
  return error;
}

describe("one sidecar with a token", () => {
  let sidecar: Sidecar;
  let ax: AxiomContext;

  before(async () => {
    sidecar = await sidecars.start(SECRETS, OVERRIDES, newToken());
    ax = new AxiomContext({ socket: sidecar.socket, token: sidecar.token! });
  });
  after(() => ax.close());

  test("finds a secret", async () => {
    assert.deepEqual(await ax.secrets.get("OPENAI_API_KEY"), ["sk-live-4f2b9c", true]);
  });

  test("does not find a missing secret, without an error", async () => {
    assert.deepEqual(await ax.secrets.get("NOPE"), ["", false]);
    assert.equal(await ax.secrets.exists("NOPE"), false);
  });

  test("finds an empty value", async () => {
    assert.deepEqual(await ax.secrets.get("EMPTY"), ["", true]);
    assert.equal(await ax.secrets.exists("EMPTY"), true);
  });

  test("returns a unicode value exactly", async () => {
    assert.deepEqual(await ax.secrets.get("UNICODE"), ["pässwörd-密码-🔑", true]);
  });

  test("returns the override where there is one", async () => {
    assert.deepEqual(await ax.secrets.get("WEBHOOK"), ["whk_override", true]);
    assert.deepEqual(await ax.secrets.get("ONLY_OVERRIDE"), ["only", true]);
  });

  test("does not find invalid and unicode names", async () => {
    for (const name of ["", "1A", "has space", "ключ", "sk-live-4f2b9c", "A".repeat(129)]) {
      assert.deepEqual(await ax.secrets.get(name), ["", false]);
    }
  });

  test("lists every secret sorted with its metadata", async () => {
    const listed = await ax.secrets.list();
    const names = [
      "OPENAI_API_KEY",
      "EMPTY",
      "UNICODE",
      "DB_URL",
      "WEBHOOK",
      "SHORT",
      "ONLY_OVERRIDE",
    ];
    assert.deepEqual(
      listed.map((i) => i.name),
      names.sort(),
    );
    const byName = new Map<string, SecretInfo>(listed.map((i) => [i.name, i]));
    assert.deepEqual(byName.get("DB_URL"), {
      name: "DB_URL",
      version: 3,
      updatedAt: 1795000000,
    });
    // An override shows its own metadata and nothing that marks it as an override.
    assert.deepEqual(byName.get("WEBHOOK"), {
      name: "WEBHOOK",
      version: 9,
      updatedAt: 1796000000,
    });
  });

  test("renders a template", async () => {
    const rendered = await ax.secrets.render(
      "k={{ secrets.OPENAI_API_KEY }} m={{secrets.M}} {{secrets.M}}",
    );
    assert.equal(rendered.text, "k=sk-live-4f2b9c m={{secrets.M}} {{secrets.M}}");
    assert.deepEqual(rendered.missing, ["M"]);
  });

  test("redacts a text", async () => {
    const redacted = await ax.secrets.redact(
      "key=sk-live-4f2b9c b64=c2stbGl2ZS00ZjJiOWM= k9k9 whk_tenant",
    );
    assert.deepEqual(
      redacted,
      // SHORT ("k9") is under the 4-byte minimum: never masked.
      new Redacted("key=*** b64=*** k9k9 whk_tenant", ["OPENAI_API_KEY"]),
    );
  });

  test("agrees with the mock loaded with the same values", async () => {
    const values: Record<string, string> = {};
    for (const info of await ax.secrets.list()) {
      values[info.name] = (await ax.secrets.get(info.name))[0];
    }
    const mock = new MockAxiomContext({ secretsMap: values });
    const text = "pässwörd-密码-🔑 p%C3%A4ssw%C3%B6rd only k9 {{secrets.SHORT}} whk_override";
    assert.deepEqual(await mock.secrets.redact(text), await ax.secrets.redact(text));
    const template = "{{{secrets.SHORT}}} {{ secrets.X }} {{secrets.UNICODE}}";
    const [fromMock, fromSidecar] = [
      await mock.secrets.render(template),
      await ax.secrets.render(template),
    ];
    assert.deepEqual([fromMock.text, fromMock.missing], [fromSidecar.text, fromSidecar.missing]);
  });

  test("answers many promises in flight at once on one connection", async () => {
    const names = ["OPENAI_API_KEY", "SHORT", "UNICODE", "NOPE", "EMPTY"];
    const expected = await Promise.all(names.map((n) => ax.secrets.get(n)));
    const calls = Array.from({ length: 1000 }, (_, i) => i % names.length);
    const answers = await Promise.all(calls.map((i) => ax.secrets.get(names[i]!)));
    answers.forEach((got, k) => assert.deepEqual(got, expected[calls[k]!]));
  });

  test("answers every kind of request interleaved in flight at once", async () => {
    const rounds = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const [get, list, rendered, redacted, exists] = await Promise.all([
          ax.secrets.get("SHORT"),
          ax.secrets.list(),
          ax.secrets.render("{{secrets.SHORT}}"),
          ax.secrets.redact("k9"),
          ax.secrets.exists("NOPE"),
        ]);
        return JSON.stringify([get, list.length, rendered.text, redacted, exists]);
      }),
    );
    assert.deepEqual(
      new Set(rounds),
      new Set([JSON.stringify([["k9", true], 7, "k9", { text: "k9", found: [] }, false])]),
    );
  });

  test("refuses a wrong token with a typed error naming the socket", async () => {
    const wrong = new AxiomContext({ socket: sidecar.socket, token: "not-" + sidecar.token! });
    const error = await unavailable(wrong.secrets.get("OPENAI_API_KEY"));
    assert.equal(
      error.message,
      `ax-secrets: the sidecar at ${sidecar.socket} refused the client token`,
    );
    assert.equal(error.socketPath, sidecar.socket);
    assert.equal(error.code, "Unauthorized");
    assert.ok(!error.message.includes(sidecar.token!) && !inspect(error).includes(sidecar.token!));
    await unavailable(wrong.secrets.list()); // and again: every call, not just the first
    await wrong.close();
  });

  test("refuses a missing token with a typed error", async () => {
    const saved = process.env["AX_SECRETS_TOKEN"];
    delete process.env["AX_SECRETS_TOKEN"];
    try {
      const error = await unavailable(
        new AxiomContext({ socket: sidecar.socket }).secrets.exists("SHORT"),
      );
      assert.match(error.message, /refused the client token/);
    } finally {
      if (saved !== undefined) process.env["AX_SECRETS_TOKEN"] = saved;
    }
  });

  test("is configured from the environment", async () => {
    const saved = [process.env["AX_SECRETS_SOCKET"], process.env["AX_SECRETS_TOKEN"]];
    process.env["AX_SECRETS_SOCKET"] = sidecar.socket;
    process.env["AX_SECRETS_TOKEN"] = sidecar.token!;
    const fromEnv = new AxiomContext();
    try {
      assert.deepEqual(await fromEnv.secrets.get("SHORT"), ["k9", true]);
    } finally {
      restore("AX_SECRETS_SOCKET", saved[0]);
      restore("AX_SECRETS_TOKEN", saved[1]);
      await fromEnv.close();
    }
  });

  test("shows no value or token in errors, inspect, toString or JSON", async () => {
    assert.equal((await ax.secrets.get("OPENAI_API_KEY"))[0], "sk-live-4f2b9c");
    const rendered = await ax.secrets.render("{{secrets.OPENAI_API_KEY}}");
    const shown = [
      inspect(ax),
      inspect(ax.secrets),
      String(ax),
      JSON.stringify(ax),
      JSON.stringify(ax.secrets),
      inspect(ax, { showHidden: true, depth: 10 }),
      inspect(rendered),
      String(rendered),
      JSON.stringify(rendered),
    ].join(" ");
    assert.ok(shown.includes(sidecar.socket), shown);
    assert.ok(!shown.includes("sk-live") && !shown.includes(sidecar.token!), shown);
  });

  test("lets a node process exit with its connection open and idle", async () => {
    const script = [
      `const { ax } = require(${JSON.stringify(path.join(__dirname, "..", "src", "index.js"))});`,
      `ax.secrets.get("SHORT").then((r) => console.log(JSON.stringify(r)));`,
    ].join("\n");
    const child = spawn(process.execPath, ["-e", script], {
      env: { ...process.env, AX_SECRETS_SOCKET: sidecar.socket, AX_SECRETS_TOKEN: sidecar.token! },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise((resolve) => child.once("exit", resolve));
    assert.equal(code, 0);
    assert.equal(out, '["k9",true]\n');
  });
});

describe("sidecars of their own", () => {
  test("serve a value of one mebibyte, also many at once", async () => {
    // Alone: redacting with a 1 MiB value is costly for a debug-built sidecar.
    const sidecar = await sidecars.start({ BIG, SMALL: "s" });
    const ax = new AxiomContext({ socket: sidecar.socket });
    try {
      assert.deepEqual(await ax.secrets.get("BIG"), [BIG, true]);
      const all = await Promise.all(
        ["BIG", "SMALL", "BIG", "SMALL", "BIG"].map((n) => ax.secrets.get(n)),
      );
      assert.deepEqual(
        all.map(([v, ok]) => [v.length, ok]),
        [
          [BIG.length, true],
          [1, true],
          [BIG.length, true],
          [1, true],
          [BIG.length, true],
        ],
      );
      assert.ok(all[4]![0] === BIG);
    } finally {
      await ax.close();
    }
  });

  test("reconnect to a restarted sidecar, and the second call succeeds", async () => {
    const sidecar = await sidecars.start(SECRETS, OVERRIDES);
    const ax = new AxiomContext({ socket: sidecar.socket });
    try {
      assert.deepEqual(await ax.secrets.get("OPENAI_API_KEY"), ["sk-live-4f2b9c", true]);
      await sidecar.restart();
      assert.deepEqual(await ax.secrets.get("SHORT"), ["k9", true]);
      assert.deepEqual(await ax.secrets.get("OPENAI_API_KEY"), ["sk-live-4f2b9c", true]);
    } finally {
      await ax.close();
    }
  });

  test("give a typed error naming the socket once stopped", async () => {
    const sidecar = await sidecars.start(SECRETS);
    const ax = new AxiomContext({ socket: sidecar.socket });
    try {
      assert.equal(await ax.secrets.exists("SHORT"), true);
      assert.equal(await sidecar.stop(), 0);
      const error = await unavailable(
        ax.secrets.render("secret sk-live-4f2b9c {{secrets.OPENAI_API_KEY}}"),
      );
      assert.ok(error.message.includes(sidecar.socket), error.message);
      assert.ok(!error.message.includes("sk-live") && !inspect(error).includes("sk-live"));
    } finally {
      await ax.close();
    }
  });

  test("refuse to seal a name that breaks the rule, as the shim refuses it", async () => {
    await assert.rejects(sidecars.start({ UNI_ключ: "x" }));
  });
});

describe("no sidecar", () => {
  test("is a typed error naming the path", async () => {
    const where = sidecars.nowhere();
    const ax = new AxiomContext({ socket: where });
    const error = await unavailable(ax.secrets.get("OPENAI_API_KEY"));
    assert.ok(error.message.includes(where), error.message);
    assert.match(error.message, /cannot be reached \(ENOENT/);
    assert.equal(error.socketPath, where);
    await unavailable(ax.secrets.list());
  });
});

function restore(name: string, value: string | undefined): void {
  if (value === undefined) {
    delete process.env[name];
  } else {
    process.env[name] = value;
  }
}
