/** The client's protocol rules against a scripted fake sidecar (PROTOCOL §7). */

import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { inspect } from "node:util";

import { AxiomContext, RequestTooLargeError, SecretsUnavailableError } from "../src/index";
import type { Request } from "../src/messages";
import { encodeResponse, frame } from "../src/wire";
import { FakeSidecar, type Peer } from "./fake-sidecar";

/** Runs `body` with a fake sidecar serving `script` and a context on it; closes both. */
async function withFake(
  script: (index: number, peer: Peer) => Promise<void>,
  body: (ax: AxiomContext, fake: FakeSidecar) => Promise<void>,
  options: { token?: string; timeoutMs?: number } = {},
): Promise<void> {
  const fake = await FakeSidecar.start(script);
  const ax = new AxiomContext({ socket: fake.path, ...options });
  try {
    await body(ax, fake);
  } finally {
    await ax.close();
    await fake.close();
  }
}

/** The error a promise rejects with (fails when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("the promise resolved");
}

async function unavailable(promise: Promise<unknown>): Promise<SecretsUnavailableError> {
  const error = await rejection(promise);
  assert.ok(
    error instanceof SecretsUnavailableError,
    `not SecretsUnavailableError: ${String(error)}`,
  );
  return error;
}

describe("the handshake", () => {
  test("sends version, client and token once, and the connection is reused", async () => {
    const hellos: Request[] = [];
    await withFake(
      async (_, peer) => {
        hellos.push(await peer.handshake());
        await peer.serveGets();
      },
      async (ax, fake) => {
        assert.deepEqual(await ax.secrets.get("A"), ["v", true]);
        assert.deepEqual(await ax.secrets.get("B"), ["v", true]);
        assert.equal(fake.connections, 1);
      },
      { token: "tok-1" },
    );
    assert.deepEqual(hellos, [
      { id: 1, type: "Hello", version: 2, client: "ts/0.1.0", token: "tok-1" },
    ]);
  });

  test("sends an empty token from the environment as none", async () => {
    const hellos: Request[] = [];
    const fake = await FakeSidecar.start(async (_, peer) => {
      hellos.push(await peer.handshake());
      await peer.serveGets();
    });
    const saved = {
      socket: process.env["AX_SECRETS_SOCKET"],
      token: process.env["AX_SECRETS_TOKEN"],
    };
    process.env["AX_SECRETS_SOCKET"] = fake.path;
    process.env["AX_SECRETS_TOKEN"] = "";
    const ax = new AxiomContext();
    try {
      await ax.secrets.get("A");
      assert.equal(ax.secrets.toJSON().socket, fake.path);
    } finally {
      restoreEnv("AX_SECRETS_SOCKET", saved.socket);
      restoreEnv("AX_SECRETS_TOKEN", saved.token);
      await ax.close();
      await fake.close();
    }
    assert.equal((hellos[0] as { token: unknown }).token, null);
  });

  test("is shared by calls made while it runs", async () => {
    await withFake(
      async (_, peer) => {
        await peer.handshake();
        await peer.serveGets();
      },
      async (ax, fake) => {
        const all = await Promise.all(Array.from({ length: 50 }, () => ax.secrets.get("A")));
        assert.ok(all.every(([v, ok]) => v === "v" && ok));
        assert.equal(fake.connections, 1);
      },
    );
  });

  test("refuses another protocol version", async () => {
    await withFake(
      async (_, peer) => {
        const hello = await peer.read();
        peer.answer({
          id: hello!.id,
          type: "Hello",
          version: 3,
          sidecar: "future",
          executionId: "e",
        });
        await peer.hungUp();
      },
      async (ax) => {
        const error = await unavailable(ax.secrets.get("A"));
        assert.match(error.message, /version 3, not 2/);
      },
    );
  });

  test("reports Busy with its code and the socket path, and never retries it", async () => {
    await withFake(
      async (_, peer) => {
        await peer.read();
        peer.error(0, "Busy");
      },
      async (ax, fake) => {
        const error = await unavailable(ax.secrets.get("A"));
        assert.equal(error.code, "Busy");
        assert.ok(error.message.includes(fake.path));
        assert.equal(error.socketPath, fake.path);
        assert.match(error.message, /connection cap/);
        assert.equal(fake.connections, 1);
      },
    );
  });

  test("reports a refused token with code Unauthorized", async () => {
    await withFake(
      async (_, peer) => {
        const hello = await peer.read();
        peer.error(hello!.id, "Unauthorized");
      },
      async (ax, fake) => {
        const error = await unavailable(ax.secrets.list());
        assert.equal(
          error.message,
          `ax-secrets: the sidecar at ${fake.path} refused the client token`,
        );
        assert.equal(error.code, "Unauthorized");
        assert.equal(fake.connections, 1);
      },
      { token: "wrong" },
    );
  });
});

describe("answers", () => {
  test("with a wrong id drop the connection, and the next call reconnects", async () => {
    await withFake(
      async (i, peer) => {
        await peer.handshake();
        const request = await peer.read();
        if (i === 0) {
          peer.answer({ id: request!.id + 1, type: "Secret", value: "wrong" });
          assert.ok(await peer.hungUp());
        } else {
          peer.answer({ id: request!.id, type: "Secret", value: "right" });
        }
      },
      async (ax, fake) => {
        const error = await unavailable(ax.secrets.get("A"));
        assert.match(error.message, /answered request \d+ with id \d+/);
        assert.deepEqual(await ax.secrets.get("A"), ["right", true]);
        assert.equal(fake.connections, 2);
      },
    );
  });

  test("of an unexpected kind are a typed error", async () => {
    await withFake(
      async (_, peer) => {
        await peer.handshake();
        const request = await peer.read();
        peer.answer({ id: request!.id, type: "Pong" });
      },
      async (ax) => {
        const error = await unavailable(ax.secrets.get("A"));
        assert.match(error.message, /answered Get with Pong/);
      },
    );
  });

  test("that are malformed are a typed error naming what is wrong", async () => {
    await withFake(
      async (_, peer) => {
        await peer.handshake();
        await peer.read();
        peer.socket.write(Buffer.from("0000000401010200", "hex")); // option tag 02
      },
      async (ax) => {
        const error = await unavailable(ax.secrets.get("A"));
        assert.match(error.message, /InvalidOptionTag/);
      },
    );
  });

  test("over the response limit are refused from the prefix", async () => {
    await withFake(
      async (_, peer) => {
        await peer.handshake();
        await peer.read();
        peer.socket.write(Buffer.from("01000001", "hex"));
      },
      async (ax) => {
        const error = await unavailable(ax.secrets.get("A"));
        assert.match(error.message, /FrameTooLarge/);
      },
    );
  });

  test("split byte by byte across reads are put together", async () => {
    await withFake(
      async (_, peer) => {
        await peer.handshake();
        const requests = await peer.readMany(3);
        const bytes = Buffer.concat(
          requests.map((r, i) =>
            frame(encodeResponse({ id: r.id, type: "Secret", value: `välue-${i}` })),
          ),
        );
        for (const b of bytes) {
          await new Promise<void>((resolve) =>
            peer.socket.write(Buffer.from([b]), () => resolve()),
          );
        }
      },
      async (ax) => {
        const all = await Promise.all(["A", "B", "C"].map((n) => ax.secrets.get(n)));
        assert.deepEqual(all, [
          ["välue-0", true],
          ["välue-1", true],
          ["välue-2", true],
        ]);
      },
    );
  });

  test("sent unasked drop the connection, and the next call reconnects", async () => {
    let droppedFirst!: () => void;
    const firstDropped = new Promise<void>((resolve) => (droppedFirst = resolve));
    await withFake(
      async (i, peer) => {
        await peer.handshake();
        if (i === 0) {
          const request = await peer.read();
          peer.answer({ id: request!.id, type: "Secret", value: "first" });
          peer.answer({ id: 99, type: "Pong" }); // while the client has nothing in flight
          assert.ok(await peer.hungUp());
          droppedFirst();
          return;
        }
        await peer.serveGets("after");
      },
      async (ax, fake) => {
        assert.deepEqual(await ax.secrets.get("A"), ["first", true]);
        await firstDropped;
        assert.deepEqual(await ax.secrets.get("A"), ["after", true]);
        assert.equal(fake.connections, 2);
      },
    );
  });
});

describe("pipelining", () => {
  test("writes every request before any answer comes, and matches answers in order", async () => {
    const count = 200;
    await withFake(
      async (_, peer) => {
        await peer.handshake();
        // Nothing is answered until every request is in: a client that waited would hang.
        const requests = await peer.readMany(count);
        for (const r of requests) {
          peer.answer({
            id: r.id,
            type: "Secret",
            value: r.type === "Get" ? `value-of-${r.name}` : null,
          });
        }
        await peer.serveGets();
      },
      async (ax, fake) => {
        const names = Array.from({ length: count }, (_, i) => `N${i}`);
        const all = await Promise.all(names.map((n) => ax.secrets.get(n)));
        assert.deepEqual(
          all,
          names.map((n) => [`value-of-${n}`, true]),
        );
        assert.equal(fake.connections, 1);
      },
    );
  });

  test("fails requests behind a closing error as transport errors, never as not found", async () => {
    await withFake(
      async (i, peer) => {
        await peer.handshake();
        if (i === 0) {
          const requests = await peer.readMany(3);
          peer.error(requests[0]!.id, "BadRequest");
          return; // and close: the two behind it are never answered
        }
        await peer.serveGets("fresh");
      },
      async (ax, fake) => {
        const calls = [ax.secrets.get("A"), ax.secrets.get("B"), ax.secrets.get("C")];
        const first = await unavailable(calls[0]!);
        assert.equal(first.code, "BadRequest");
        for (const call of calls.slice(1)) {
          const error = await unavailable(call);
          assert.match(error.message, /closed the connection before answering Get/);
        }
        assert.deepEqual(await ax.secrets.get("A"), ["fresh", true]);
        assert.equal(fake.connections, 2);
      },
    );
  });

  test("keeps the connection after Internal", async () => {
    await withFake(
      async (_, peer) => {
        await peer.handshake();
        const first = await peer.read();
        peer.error(first!.id, "Internal");
        await peer.serveGets("after");
      },
      async (ax, fake) => {
        const error = await unavailable(ax.secrets.get("A"));
        assert.equal(error.code, "Internal");
        assert.deepEqual(await ax.secrets.get("A"), ["after", true]);
        assert.equal(fake.connections, 1);
      },
    );
  });
});

describe("reconnection", () => {
  test("retries ShuttingDown once on a fresh connection", async () => {
    await withFake(
      async (i, peer) => {
        await peer.handshake();
        const request = await peer.read();
        if (i === 0) {
          peer.error(request!.id, "ShuttingDown");
        } else {
          peer.answer({ id: request!.id, type: "Secret", value: "served" });
        }
      },
      async (ax, fake) => {
        assert.deepEqual(await ax.secrets.get("A"), ["served", true]);
        assert.equal(fake.connections, 2);
      },
    );
  });

  test("never resends a request that was written before the connection broke", async () => {
    const seen: Request[] = [];
    await withFake(
      async (_, peer) => {
        await peer.handshake();
        seen.push((await peer.read())!); // and hang up without answering
      },
      async (ax, fake) => {
        const error = await unavailable(ax.secrets.get("A"));
        assert.match(error.message, /it was not resent/);
        assert.equal(fake.connections, 1);
      },
    );
    assert.deepEqual(
      seen.map((r) => r.type),
      ["Get"],
    );
  });

  test("replaces a connection the sidecar closed while idle", async () => {
    let closedFirst!: () => void;
    const firstClosed = new Promise<void>((resolve) => (closedFirst = resolve));
    await withFake(
      async (i, peer) => {
        await peer.handshake();
        const request = await peer.read();
        peer.answer({ id: request!.id, type: "Secret", value: `conn${i}` });
        if (i === 0) {
          // Close while the client is idle, and wait until it has seen the close.
          peer.socket.end();
          assert.ok(await peer.hungUp());
          closedFirst();
        }
      },
      async (ax, fake) => {
        assert.deepEqual(await ax.secrets.get("A"), ["conn0", true]);
        await firstClosed;
        assert.deepEqual(await ax.secrets.get("A"), ["conn1", true]);
        assert.equal(fake.connections, 2);
      },
    );
  });

  test("close() rejects calls in flight, and a later call reconnects", async () => {
    let gotFirst!: () => void;
    const firstRead = new Promise<void>((resolve) => (gotFirst = resolve));
    await withFake(
      async (i, peer) => {
        await peer.handshake();
        if (i === 0) {
          await peer.read(); // never answered
          gotFirst();
          assert.ok(await peer.hungUp());
          return;
        }
        await peer.serveGets("again");
      },
      async (ax, fake) => {
        const pending = ax.secrets.get("A");
        await firstRead;
        await ax.close();
        const error = await unavailable(pending);
        assert.match(error.message, /did not answer Get: the client was closed first/);
        assert.deepEqual(await ax.secrets.get("A"), ["again", true]);
        assert.equal(fake.connections, 2);
      },
    );
  });

  test("close() during the handshake lets a later call connect afresh", async () => {
    let gotHello!: () => void;
    const helloRead = new Promise<void>((resolve) => (gotHello = resolve));
    await withFake(
      async (i, peer) => {
        if (i === 0) {
          await peer.read(); // the Hello, never answered
          gotHello();
          assert.ok(await peer.hungUp());
          return;
        }
        await peer.handshake();
        await peer.serveGets("second");
      },
      async (ax, fake) => {
        const pending = ax.secrets.get("A");
        await helloRead;
        await ax.close();
        assert.match((await unavailable(pending)).message, /the client was closed first/);
        assert.deepEqual(await ax.secrets.get("A"), ["second", true]);
        assert.equal(fake.connections, 2);
      },
    );
  });

  test("gives up when no answer comes within the timeout", async () => {
    await withFake(
      async (_, peer) => {
        await peer.handshake();
        await peer.read();
        await peer.hungUp();
      },
      async (ax) => {
        const error = await unavailable(ax.secrets.get("A"));
        assert.match(error.message, /did not answer Get within 200 ms/);
      },
      { timeoutMs: 200 },
    );
  });
});

describe("arguments", () => {
  test("a render over the request limit is refused before connecting", async () => {
    const ax = new AxiomContext({ socket: "/nonexistent/ax.sock" });
    const error = await rejection(ax.secrets.render("x".repeat(1024 * 1024)));
    assert.ok(error instanceof RequestTooLargeError);
    assert.ok(error instanceof RangeError);
    assert.match(error.message, /1048576/);
    assert.ok(!error.message.includes("xxxx"));
    assert.ok(
      (await rejection(ax.secrets.redact("y".repeat(1024 * 1024 - 4)))) instanceof
        RequestTooLargeError,
    );
  });

  test("a request of exactly the limit is sent", async () => {
    await withFake(
      async (_, peer) => {
        await peer.handshake();
        const request = await peer.read();
        assert.equal(request!.type, "Redact");
        peer.answer({ id: request!.id, type: "Redacted", text: "ok", found: [] });
        await peer.hungUp();
      },
      async (ax) => {
        // id 1 (1 byte) + tag (1) + length varint (3) + text = 1 MiB exactly
        assert.equal((await ax.secrets.redact("r".repeat(1024 * 1024 - 5))).text, "ok");
      },
    );
  });

  test("a token over the limit is refused before connecting, without showing it", async () => {
    const token = "t".repeat(4097);
    const ax = new AxiomContext({ socket: "/nonexistent/ax.sock", token });
    const error = await unavailable(ax.secrets.get("A"));
    assert.match(error.message, /4097 bytes, over the limit of 4096/);
    assert.ok(!error.message.includes("tttt"));
  });

  test("no socket configured is a typed error", async () => {
    const saved = process.env["AX_SECRETS_SOCKET"];
    delete process.env["AX_SECRETS_SOCKET"];
    try {
      const error = await unavailable(new AxiomContext().secrets.get("A"));
      assert.match(error.message, /AX_SECRETS_SOCKET is not set/);
      assert.equal(error.socketPath, undefined);
    } finally {
      restoreEnv("AX_SECRETS_SOCKET", saved);
    }
  });

  test("an invalid name never connects", async () => {
    const ax = new AxiomContext({ socket: "/nonexistent/ax.sock" });
    assert.deepEqual(await ax.secrets.get("not a name"), ["", false]);
    assert.equal(await ax.secrets.exists(""), false);
  });

  test("a name that is not a string is a TypeError", async () => {
    const ax = new AxiomContext({ socket: "/nonexistent/ax.sock" });
    assert.ok(
      (await rejection(ax.secrets.get(undefined as unknown as string))) instanceof TypeError,
    );
    assert.ok((await rejection(ax.secrets.render(5 as unknown as string))) instanceof TypeError);
  });

  test("a text with a lone surrogate is a TypeError that does not show it", async () => {
    const ax = new AxiomContext({ socket: "/nonexistent/ax.sock" });
    const error = await rejection(ax.secrets.redact("sk-live \udc00"));
    assert.ok(error instanceof TypeError);
    assert.ok(!error.message.includes("sk-live"));
  });

  test("the context shows its socket and never its token", () => {
    const ax = new AxiomContext({ socket: "/run/ax/x.sock", token: "tok-secret-1" });
    const shown = [
      inspect(ax),
      inspect(ax.secrets),
      String(ax),
      JSON.stringify(ax),
      JSON.stringify(ax.secrets),
      inspect(ax, { showHidden: true, depth: 10 }),
      inspect(ax.secrets, { showHidden: true, depth: 10 }),
    ].join(" ");
    assert.ok(shown.includes("/run/ax/x.sock"), shown);
    assert.ok(!shown.includes("tok-secret-1"), shown);
  });
});

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) {
    delete process.env[name];
  } else {
    process.env[name] = value;
  }
}
