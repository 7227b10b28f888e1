/** The mock answers as a sidecar serving the same values would. */

import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { inspect } from "node:util";

import { answer } from "../conformance/driver";
import { MockAxiomContext, Redacted, Rendered, type AxiomContextLike } from "../src/index";
import { forms, jsonEscaped, percentEncoded } from "../src/encodings";
import { workspaceRoot } from "./sidecar";

const UNICODE = "pässwörd-密码-🔑";
const SECRETS: Record<string, string> = {
  GREETER_SIGNATURE: "test-sig",
  EMPTY: "",
  UNI: UNICODE,
  QUOTED: 'say "hi"\\n\tthen\u0001go',
  SHORT: "k9",
  LONG: "sk-0123456789",
  TWIN: "k9",
  LOOP: "{{secrets.SHORT}}",
  lower: "v",
};

function mock(secretsMap: Record<string, string> = SECRETS): MockAxiomContext {
  return new MockAxiomContext({ secretsMap });
}

describe("the mock's get", () => {
  test("returns the value and true", async () => {
    assert.deepEqual(await mock().secrets.get("GREETER_SIGNATURE"), ["test-sig", true]);
  });

  test("returns an empty string and false for a missing secret", async () => {
    assert.deepEqual(await mock().secrets.get("MISSING"), ["", false]);
  });

  test("finds an empty value", async () => {
    const ax = mock();
    assert.deepEqual(await ax.secrets.get("EMPTY"), ["", true]);
    assert.equal(await ax.secrets.exists("EMPTY"), true);
  });

  test("treats names as case-sensitive", async () => {
    const ax = mock();
    assert.deepEqual(await ax.secrets.get("lower"), ["v", true]);
    assert.deepEqual(await ax.secrets.get("LOWER"), ["", false]);
  });

  for (const name of ["", "1A", "A-B", "A\n", "test-sig", "Ä", "A".repeat(129), "toString"]) {
    test(`does not find the invalid or absent name ${JSON.stringify(name).slice(0, 20)}`, async () => {
      const ax = mock();
      assert.deepEqual(await ax.secrets.get(name), ["", false]);
      assert.equal(await ax.secrets.exists(name), false);
    });
  }

  test("rejects a name that is not a string with a TypeError", async () => {
    await assert.rejects(mock().secrets.get(42 as unknown as string), TypeError);
  });

  test("accepts a Map as the secrets map", async () => {
    const ax = new MockAxiomContext({ secretsMap: new Map([["FROM_MAP", "m"]]) });
    assert.deepEqual(await ax.secrets.get("FROM_MAP"), ["m", true]);
  });

  test("serves nothing when made without a map", async () => {
    const ax = new MockAxiomContext();
    assert.deepEqual(await ax.secrets.get("ANY"), ["", false]);
    assert.deepEqual(await ax.secrets.list(), []);
  });
});

describe("the mock's list", () => {
  test("is sorted bytewise with fixed metadata", async () => {
    const listed = await mock().secrets.list();
    assert.deepEqual(
      listed.map((i) => i.name),
      Object.keys(SECRETS).sort(),
    );
    assert.deepEqual(listed[0], { name: "EMPTY", version: 1, updatedAt: 0 });
    assert.ok(listed.every((i) => i.version === 1 && i.updatedAt === 0));
  });
});

describe("the mock's render", () => {
  test("replaces found references and lists missing ones once", async () => {
    const template = "a={{ secrets.SHORT }} m={{secrets.M}}{{secrets.M}} e=[{{secrets.EMPTY}}]";
    const rendered = await mock().secrets.render(template);
    assert.equal(rendered.text, "a=k9 m={{secrets.M}}{{secrets.M}} e=[]");
    assert.deepEqual(rendered.missing, ["M"]);
  });

  test("is a single pass", async () => {
    assert.equal((await mock().secrets.render("{{secrets.LOOP}}")).text, "{{secrets.SHORT}}");
  });

  test("hides the text from inspect, toString and JSON", async () => {
    const rendered = await mock().secrets.render("{{secrets.SHORT}} {{secrets.M}}");
    assert.ok(rendered instanceof Rendered);
    for (const shown of [inspect(rendered), String(rendered), JSON.stringify(rendered)]) {
      assert.ok(!shown.includes("k9"), shown);
      assert.ok(shown.includes("M"), shown);
    }
  });

  test("rejects a lone surrogate without showing the text", async () => {
    const error = await mock()
      .secrets.render("k9 \ud800")
      .catch((e: unknown) => e);
    assert.ok(error instanceof TypeError);
    assert.match(error.message, /lone surrogate at index 3/);
    assert.ok(!error.message.includes("k9"));
  });
});

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
const b64url = (s: string): string => Buffer.from(s, "utf8").toString("base64url");

describe("the mock's redact", () => {
  const cases: [string, string][] = [
    ["raw", UNICODE],
    ["b64", b64(UNICODE)],
    ["b64-unpadded", b64(UNICODE).replace(/=+$/, "")],
    ["b64url", b64url(UNICODE) + "=".repeat((4 - (b64url(UNICODE).length % 4)) % 4)],
    ["b64url-unpadded", b64url(UNICODE)],
    ["json", JSON.stringify(UNICODE).slice(1, -1)],
    ["json-ascii", "p\\u00e4ssw\\u00f6rd-\\u5bc6\\u7801-\\ud83d\\udd11"],
    ["percent", encodeURIComponent(UNICODE)],
  ];
  for (const [kind, form] of cases) {
    test(`redacts the ${kind} form`, async () => {
      assert.deepEqual(await mock().secrets.redact(`<${form}>`), new Redacted("<***>", ["UNI"]));
    });
  }

  test("redacts JSON-escaped control characters", async () => {
    const inside = JSON.stringify(SECRETS["QUOTED"]).slice(1, -1);
    const redacted = await mock().secrets.redact(`{"m": "${inside}"}`);
    assert.deepEqual(redacted, new Redacted('{"m": "***"}', ["QUOTED"]));
  });

  test("is leftmost-longest without overlaps", async () => {
    const redacted = await mock().secrets.redact("sk-0123456789sk-0123456789 and sk-0123456789k9 x");
    assert.deepEqual(redacted, new Redacted("****** and ***k9 x", ["LONG"]));
  });

  test("never masks a value under four bytes", async () => {
    assert.deepEqual(await mock().secrets.redact("k9k9 k9"), new Redacted("k9k9 k9", []));
  });

  test("masks what JavaScript itself prints", async () => {
    const value = "p@ss w/\u00fc<&>'\"()*~!";
    const ax = mock({ V: value });
    const text = `${encodeURIComponent(value)} ${new URLSearchParams({ q: value }).toString()} ${JSON.stringify(value)}`;
    assert.deepEqual(await ax.secrets.redact(text), new Redacted('*** q=*** "***"', ["V"]));
  });

  test("lets the longest of overlapping values win", async () => {
    const ax = mock({ A: "abc", B: "abcdef", C: "cdefgh" });
    assert.deepEqual(await ax.secrets.redact("xabcdefghx"), new Redacted("x***ghx", ["B"]));
  });

  test("treats regular-expression characters in values literally", async () => {
    const ax = mock({ RE: "a.b*c", OTHER: "(x|y)" });
    const redacted = await ax.secrets.redact("aXbbc a.b*c (x|y) x");
    assert.deepEqual(redacted, new Redacted("aXbbc *** *** x", ["OTHER", "RE"]));
  });

  test("never matches empty values", async () => {
    assert.deepEqual(
      await mock({ EMPTY: "" }).secrets.redact("any text"),
      new Redacted("any text", []),
    );
  });

  test("leaves text with no secret as it is", async () => {
    assert.deepEqual(await mock().secrets.redact(""), new Redacted("", []));
    assert.deepEqual(await mock().secrets.redact("plain"), new Redacted("plain", []));
  });
});

describe("the mock's construction and display", () => {
  test("refuses a key that is not a name without showing it", () => {
    assert.throws(
      () => mock({ "sk-live-123": "x" }),
      (error: unknown) => error instanceof TypeError && !error.message.includes("sk-live-123"),
    );
  });

  test("refuses a value that is not a string", () => {
    assert.throws(() => mock({ A: 3 as unknown as string }), TypeError);
  });

  test("shows no value in inspect, toString or JSON", () => {
    const ax = mock();
    const shown = [
      inspect(ax),
      inspect(ax.secrets),
      String(ax),
      JSON.stringify(ax),
      JSON.stringify(ax.secrets),
      inspect(ax, { showHidden: true, depth: 5 }),
    ].join(" ");
    assert.ok(!shown.includes("test-sig"), shown);
    assert.ok(shown.includes("GREETER_SIGNATURE"), shown);
  });

  test("answers many promises at once", async () => {
    const ax = mock();
    const all = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        i % 2 === 0 ? ax.secrets.get("SHORT") : ax.secrets.redact("sk-0123456789").then((r) => r.text),
      ),
    );
    assert.deepEqual(new Set(all.map((a) => JSON.stringify(a))), new Set(['["k9",true]', '"***"']));
  });
});

describe("the redaction forms", () => {
  test("are base64 and base64url, padded and unpadded, as in RFC 4648", () => {
    assert.deepEqual(forms("foob").slice(1, 5), ["Zm9vYg==", "Zm9vYg", "Zm9vYg==", "Zm9vYg"]);
    assert.deepEqual(forms("~~~?").slice(1, 5), ["fn5+Pw==", "fn5+Pw", "fn5-Pw==", "fn5-Pw"]);
    assert.deepEqual(forms("~~~???").slice(1, 5), ["fn5+Pz8/", "fn5+Pz8/", "fn5-Pz8_", "fn5-Pz8_"]);
  });

  test("escape JSON as the sidecar does", () => {
    assert.equal(jsonEscaped('a"b\\c\nd\u0001', false), 'a\\"b\\\\c\\nd\\u0001');
    assert.equal(jsonEscaped("grüß 🌍", false), "grüß 🌍");
    assert.equal(jsonEscaped("grüß 🌍", true), "gr\\u00fc\\u00df \\ud83c\\udf0d");
    assert.equal(jsonEscaped("\b\f\r\t\u007f", true), "\\b\\f\\r\\t\u007f");
    // JSON.stringify keeps non-ASCII; escaping each UTF-16 unit of it gives the ASCII form.
    const unit = (c: string): string => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0");
    const ascii = JSON.stringify("ü🌍\n")
      .slice(1, -1)
      .replace(/[^\x00-\x7f]/g, unit);
    assert.equal(jsonEscaped("ü🌍\n", true), ascii);
  });

  test("percent-encode all but the unreserved characters", () => {
    assert.equal(percentEncoded(Buffer.from("a-b.c_d~e")), "a-b.c_d~e");
    assert.equal(percentEncoded(Buffer.from("p@ss w/ü")), "p%40ss%20w%2F%C3%BC");
    assert.equal(percentEncoded(Buffer.from("!*'()")), "%21%2A%27%28%29");
  });
});

// The conformance scenarios, run in process against the mock.
const conformance = path.join(workspaceRoot(), "integration", "conformance");

interface Scenario {
  name: string;
  live_only: boolean;
  steps: { request?: Record<string, unknown>; expect?: unknown; runner?: string }[];
}

function effectiveValues(): Record<string, string> {
  const spec = JSON.parse(readFileSync(path.join(conformance, "secrets.json"), "utf8")) as {
    secrets: Record<string, string | { value: string }>;
    overrides: Record<string, string | { value: string }>;
  };
  const values: Record<string, string> = {};
  for (const [name, entry] of [
    ...Object.entries(spec.secrets),
    ...Object.entries(spec.overrides),
  ]) {
    values[name] = typeof entry === "string" ? entry : entry.value;
  }
  return values;
}

describe("the conformance scenarios on the mock", () => {
  const scenarios = (
    JSON.parse(readFileSync(path.join(conformance, "scenarios.json"), "utf8")) as {
      scenarios: Scenario[];
    }
  ).scenarios.filter((s) => !s.live_only);
  assert.ok(scenarios.length > 10);
  for (const scenario of scenarios) {
    test(scenario.name, async () => {
      const ax: AxiomContextLike = new MockAxiomContext({ secretsMap: effectiveValues() });
      for (const step of scenario.steps) {
        assert.deepEqual(await answer(ax, step.request!), step.expect);
      }
    });
  }
});
