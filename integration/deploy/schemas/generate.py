#!/usr/bin/env python3
"""Generates the vendored JSON schemas kubeconform validates the deployment manifests against.

kubeconform looks a manifest's schema up by kind and apiVersion under
``<dir>/v<VERSION>-standalone-strict/<kind>-<group>-<version>.json``. The schemas it downloads by
default (yannh/kubernetes-json-schema) come from the official OpenAPI document of Kubernetes;
this script makes the same kind of schema from the same document, for only the kinds the
manifests use, so CI needs nothing from the internet but the validator itself:

    go mod download -json k8s.io/kubernetes@v1.34.4     # prints "Dir": the module's files
    integration/deploy/schemas/generate.py DIR/api/openapi-spec/swagger.json 1.34.4

What it does to each kind's definition, as openapi2jsonschema does with --kubernetes --strict
--stand-alone (the tool behind yannh's schemas):

- every ``$ref`` is replaced by the definition it names (stand-alone: one file per kind);
- every object that lists ``properties`` gets ``additionalProperties: false`` (strict: a
  misspelled field is an error, not silently dropped as the API server's decoder would do);
- ``IntOrString`` becomes "a string or an integer", ``Quantity`` "a string or a number"
  (``cpu: 1`` and ``memory: 64Mi`` are both valid);
- ``apiVersion`` and ``kind`` of the top-level object are pinned to that kind's values.

Unlike those schemas, ``description`` texts are dropped (they are most of the size and
kubeconform never reads them) and optional fields do not additionally accept ``null``.
Standard library only.
"""

import json
import sys
from pathlib import Path

# The kinds the manifests under integration/deploy/kubernetes/ use: (definition, file name).
KINDS = [
    ("io.k8s.api.core.v1.Pod", "pod-v1.json"),
    ("io.k8s.api.core.v1.ConfigMap", "configmap-v1.json"),
    ("io.k8s.api.batch.v1.Job", "job-batch-v1.json"),
]

QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
REF_PREFIX = "#/definitions/"


def expand(node, definitions, stack):
    """Returns ``node`` with every reference inlined and the strict rules applied."""
    if isinstance(node, list):
        return [expand(item, definitions, stack) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"][len(REF_PREFIX):]
        if name in stack:
            # Pod, ConfigMap and Job have no recursive types; a new kind with one needs a
            # decision here, not an endless schema.
            raise SystemExit(f"recursive definition {name} (via {' -> '.join(stack)})")
        return expand_definition(name, definitions, stack + [name])
    out = {}
    for key, value in node.items():
        if key == "description":
            continue
        if key == "properties":
            # Property names are data, not schema keywords: expand each value only.
            out[key] = {prop: expand(schema, definitions, stack) for prop, schema in value.items()}
        else:
            out[key] = expand(value, definitions, stack)
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def expand_definition(name, definitions, stack):
    """One named definition, with the special cases of the Kubernetes scalar wrappers."""
    if name == QUANTITY:
        return {"oneOf": [{"type": "string"}, {"type": "number"}]}
    if name == INT_OR_STRING:
        return {"oneOf": [{"type": "string"}, {"type": "integer"}]}
    return expand(definitions[name], definitions, stack)


def kind_schema(name, definitions):
    """The stand-alone strict schema of one kind, as kubeconform loads it."""
    schema = expand_definition(name, definitions, [name])
    gvk = definitions[name]["x-kubernetes-group-version-kind"][0]
    api_version = f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]
    schema["properties"]["apiVersion"]["enum"] = [api_version]
    schema["properties"]["kind"]["enum"] = [gvk["kind"]]
    schema["$schema"] = "http://json-schema.org/schema#"
    return schema


def main(argv):
    if len(argv) != 3:
        raise SystemExit(f"usage: {argv[0]} SWAGGER_JSON KUBERNETES_VERSION (e.g. 1.34.4)")
    swagger, version = Path(argv[1]), argv[2]
    definitions = json.loads(swagger.read_text(encoding="utf-8"))["definitions"]
    out_dir = Path(__file__).resolve().parent / f"v{version}-standalone-strict"
    out_dir.mkdir(exist_ok=True)
    for name, file_name in KINDS:
        text = json.dumps(kind_schema(name, definitions), indent=1, sort_keys=True)
        (out_dir / file_name).write_text(text + "\n", encoding="utf-8")
        print(f"{out_dir / file_name}: {name}")


if __name__ == "__main__":
    main(sys.argv)
