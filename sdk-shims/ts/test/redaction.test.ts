/**
 * redaction.json (PROTOCOL §8.4, §10.2), one named sub-test each: the forms of each value by
 * name (`forms`), each form alone through the mock's `redact`, and whole redactions through the
 * `Redactor` and the mock.
 */

import { strict as assert } from "node:assert";
import { describe, test } from "node:test";

import { forms } from "../src/encodings";
import { MIN_REDACTED_LEN } from "../src/limits";
import { MockSecrets } from "../src/mock";
import { Redactor } from "../src/redact";
import { hasExactly, load, type Json } from "./vectors";

/**
 * The names of the forms, in the order `forms` gives them: the keys of a forms case
 * (FORM_NAMES in protocol/src/encodings.rs).
 */
const FORM_NAMES = [
  "utf8",
  "base64",
  "base64_unpadded",
  "base64url",
  "base64url_unpadded",
  "json",
  "json_ascii",
  "percent",
  "json_html_safe",
  "json_gson",
  "json_dotnet",
  "json_upper_controls",
  "python_repr_str",
  "python_repr_bytes",
  "go_quoted",
  "query_escape",
  "form_urlencoded",
  "python_quote",
  "go_path_escape",
  "uri_component",
  "percent_lower",
  "dotnet_http_utility",
  "dotnet_web_utility",
];

describe("redaction.json", () => {
  const data = load("redaction.json");
  for (const vector of data.tests) {
    test(`redaction.json#${vector.id} ${vector.comment}`, async () => {
      assert.equal(vector.result, "valid");
      const value = vector.value as Record<string, Json>;
      if ("forms" in value) {
        assert.ok(hasExactly(value, ["secret", "masked", "forms"]));
        const secret = value["secret"] as string;
        assert.equal(Buffer.from(secret, "utf8").toString("hex"), vector.hex);
        const masked = Buffer.byteLength(secret, "utf8") >= MIN_REDACTED_LEN;
        assert.equal(value["masked"], masked);
        const named = value["forms"] as Record<string, string>;
        assert.ok(hasExactly(named, FORM_NAMES), `form names ${Object.keys(named).join(",")}`);
        const ours = forms(secret);
        assert.equal(ours.length, FORM_NAMES.length);
        const mock = new MockSecrets({ S: secret });
        for (const [i, name] of FORM_NAMES.entries()) {
          assert.equal(ours[i], named[name], `form ${name}`);
          const alone = await mock.redact(named[name]!);
          const expected = masked ? ["***", ["S"]] : [named[name], []];
          assert.deepEqual([alone.text, alone.found], expected, `form ${name} alone`);
        }
      } else {
        assert.ok(hasExactly(value, ["secrets", "text", "redacted", "found"]));
        const text = value["text"] as string;
        assert.equal(Buffer.from(text, "utf8").toString("hex"), vector.hex);
        const secrets = value["secrets"] as Record<string, string>;
        const expected = { text: value["redacted"], found: value["found"] };
        assert.deepEqual(new Redactor(Object.entries(secrets)).redact(text), expected);
        const redacted = await new MockSecrets(secrets).redact(text);
        assert.deepEqual({ text: redacted.text, found: redacted.found }, expected);
      }
    });
  }
});
