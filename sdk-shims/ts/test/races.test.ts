/**
 * The client against the races of PROTOCOL §7.3/§7.4: a sidecar that refuses, closes or shuts
 * down at the moment a request is written.
 *
 * Each test fixes the order of events itself (the fake closes before the client writes, or only
 * once it has the client's request), so none depends on timing luck; the fake records every
 * request it read, so the tests count how often a request arrived.
 */

import { strict as assert } from "node:assert";
import { afterEach, describe, test } from "node:test";

import { AxiomContext, SecretsUnavailableError } from "../src/index";
import { testHooks } from "../src/connection";
import { FakeSidecar, type Peer } from "./fake-sidecar";

async function withFake(
  script: (index: number, peer: Peer) => Promise<void>,
  body: (ax: AxiomContext, fake: FakeSidecar) => Promise<void>,
  options: { token?: string } = {},
): Promise<FakeSidecar> {
  const fake = await FakeSidecar.start(script);
  const ax = new AxiomContext({ socket: fake.path, ...options });
  try {
    await body(ax, fake);
  } finally {
    await ax.close();
    await fake.close();
  }
  return fake;
}

async function unavailable(promise: Promise<unknown>): Promise<SecretsUnavailableError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof SecretsUnavailableError, `not SecretsUnavailableError: ${error}`);
    return error;
  }
  assert.fail("the promise resolved");
}

/** The handshake and the first Get answered: the connection is now a reused one. */
async function answerFirst(peer: Peer): Promise<void> {
  await peer.handshake();
  const first = await peer.read();
  peer.answer({ id: first!.id, type: "Secret", value: "first" });
}

/** Closes the fake's end at once, unread bytes and all. */
function slam(peer: Peer): void {
  peer.socket.destroy();
}

afterEach(() => {
  testHooks.connected = null;
});

describe("resend once", () => {
  test("resends a request once when a reused connection closes after reading it", async () => {
    const fake = await withFake(
      async (i, peer) => {
        if (i === 0) {
          await answerFirst(peer);
          await peer.read();
          slam(peer); // without answering
        } else {
          await peer.handshake();
          await peer.serveGets("resent");
        }
      },
      async (ax) => {
        assert.deepEqual(await ax.secrets.get("A"), ["first", true]);
        assert.deepEqual(await ax.secrets.get("A"), ["resent", true]);
      },
    );
    assert.equal(fake.requests.length, 3); // the second arrived twice
    assert.equal(fake.connections, 2);
  });

  test("resends a request once when a reused connection is reset with it unread", async () => {
    const fake = await withFake(
      async (i, peer) => {
        if (i === 0) {
          await answerFirst(peer);
          await peer.arrived();
          slam(peer); // with the request unread: the client's read gets ECONNRESET
        } else {
          await peer.handshake();
          await peer.serveGets("resent");
        }
      },
      async (ax) => {
        assert.deepEqual(await ax.secrets.get("A"), ["first", true]);
        assert.deepEqual(await ax.secrets.get("A"), ["resent", true]);
      },
    );
    assert.equal(fake.requests.length, 2); // the unread one never counted
    assert.equal(fake.connections, 2);
  });

  test("resends only once", async () => {
    const fake = await withFake(
      async (i, peer) => {
        if (i === 0) {
          await answerFirst(peer);
        } else {
          await peer.handshake();
        }
        await peer.read();
        slam(peer); // without answering, every time
      },
      async (ax) => {
        assert.deepEqual(await ax.secrets.get("A"), ["first", true]);
        const error = await unavailable(ax.secrets.get("A"));
        assert.match(error.message, /also when resent/);
        assert.equal(error.code, undefined);
      },
    );
    assert.equal(fake.requests.length, 3);
    assert.equal(fake.connections, 2); // never a third
  });

  test("never resends on a fresh connection", async () => {
    const fake = await withFake(
      async (_, peer) => {
        await peer.handshake();
        await peer.read();
        slam(peer);
      },
      async (ax) => {
        const error = await unavailable(ax.secrets.get("A"));
        assert.match(error.message, /it was not resent/);
      },
    );
    assert.equal(fake.requests.length, 1);
    assert.equal(fake.connections, 1);
  });

  test("never resends once the first byte of the answer arrived", async () => {
    const fake = await withFake(
      async (_, peer) => {
        await answerFirst(peer);
        await peer.read();
        peer.socket.end(Buffer.from([0])); // the first byte of a length prefix, then close
      },
      async (ax) => {
        assert.deepEqual(await ax.secrets.get("A"), ["first", true]);
        const error = await unavailable(ax.secrets.get("A"));
        assert.match(error.message, /it was not resent/);
      },
    );
    assert.equal(fake.requests.length, 2);
    assert.equal(fake.connections, 1);
  });

  test("resends pipelined requests that a reused connection closed on unanswered", async () => {
    const fake = await withFake(
      async (i, peer) => {
        if (i === 0) {
          await answerFirst(peer);
          await peer.readMany(3);
          slam(peer);
        } else {
          await peer.handshake();
          await peer.serveGets("resent");
        }
      },
      async (ax) => {
        assert.deepEqual(await ax.secrets.get("A"), ["first", true]);
        const calls = [ax.secrets.get("A"), ax.secrets.get("B"), ax.secrets.get("C")];
        for (const call of calls) {
          assert.deepEqual(await call, ["resent", true]);
        }
      },
    );
    assert.equal(fake.requests.length, 7);
    assert.equal(fake.connections, 2);
  });
});

describe("connection-level errors", () => {
  test("an id-0 ShuttingDown read instead of the answer is resent on a fresh connection", async () => {
    const fake = await withFake(
      async (i, peer) => {
        if (i === 0) {
          await answerFirst(peer);
          await peer.arrived(); // the next request is here: ShuttingDown races it
          peer.error(0, "ShuttingDown");
          slam(peer);
        } else {
          await peer.handshake();
          await peer.serveGets("new sidecar");
        }
      },
      async (ax) => {
        assert.deepEqual(await ax.secrets.get("A"), ["first", true]);
        assert.deepEqual(await ax.secrets.get("A"), ["new sidecar", true]);
      },
    );
    assert.equal(fake.connections, 2);
  });

  test("an id-0 ShuttingDown on a fresh connection is not resent", async () => {
    const fake = await withFake(
      async (_, peer) => {
        await peer.handshake();
        await peer.read();
        peer.error(0, "ShuttingDown");
      },
      async (ax) => {
        const error = await unavailable(ax.secrets.get("A"));
        assert.equal(error.code, "ShuttingDown");
      },
    );
    assert.equal(fake.requests.length, 1);
    assert.equal(fake.connections, 1);
  });

  test("Busy waiting when the Hello write fails is reported as Busy", async () => {
    let fakeRef: FakeSidecar | null = null;
    testHooks.connected = () => fakeRef!.closed(1);
    const fake = await withFake(
      async (_, peer) => {
        peer.error(0, "Busy"); // before reading anything
        peer.socket.destroySoon();
      },
      async (ax, started) => {
        fakeRef = started;
        const error = await unavailable(ax.secrets.get("A"));
        assert.equal(error.code, "Busy");
        assert.match(error.message, /connection cap/);
        assert.doesNotMatch(error.message, /closed the connection/);
      },
    );
    assert.equal(fake.connections, 1); // Busy is never retried
  });

  for (const helloWriteFails of [true, false]) {
    test(`a refused uid names the uid and not the token (Hello write fails: ${helloWriteFails})`, async () => {
      let fakeRef: FakeSidecar | null = null;
      if (helloWriteFails) {
        testHooks.connected = () => fakeRef!.closed(1);
      }
      await withFake(
        async (_, peer) => {
          peer.error(0, "Unauthorized");
          peer.socket.destroySoon();
        },
        async (ax, started) => {
          fakeRef = started;
          const error = await unavailable(ax.secrets.get("A"));
          assert.equal(error.code, "Unauthorized");
          assert.ok(error.message.includes(`uid ${process.getuid!()}`), error.message);
          assert.doesNotMatch(error.message, /token/);
        },
        { token: "tok" },
      );
    });
  }

  test("a refused token names the token and not the uid", async () => {
    await withFake(
      async (_, peer) => {
        const hello = await peer.read();
        assert.notEqual(hello!.id, 0);
        peer.error(hello!.id, "Unauthorized");
      },
      async (ax) => {
        const error = await unavailable(ax.secrets.get("A"));
        assert.equal(error.code, "Unauthorized");
        assert.match(error.message, /token/);
        assert.doesNotMatch(error.message, /uid|tok-s3cr3t/);
      },
      { token: "tok-s3cr3t" },
    );
  });
});

describe("the socket path", () => {
  test("a path over 107 bytes is refused before connecting", async () => {
    const path = "/tmp/" + "é".repeat(52); // 5 + 104 bytes, though only 57 characters
    const error = await unavailable(new AxiomContext({ socket: path }).secrets.get("A"));
    assert.equal(
      error.message,
      `ax-secrets: socket path ${path} is 109 bytes; a Unix socket path holds at most 107`,
    );
    assert.equal(error.code, undefined);
    assert.equal(error.socketPath, path);
  });

  test("a path of 107 bytes is tried", async () => {
    const path = "/nonexistent/" + "x".repeat(94);
    const error = await unavailable(new AxiomContext({ socket: path }).secrets.get("A"));
    assert.match(error.message, /cannot be reached/);
  });
});
