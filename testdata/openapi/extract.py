#!/usr/bin/env python3
"""Extract the Sessions API part of Clerk's Backend API OpenAPI specs.

Writes testdata/openapi/sessions-<version>.json for each spec given: every
/sessions path, every component those paths reference (transitively), and
the top-level info and x-speakeasy-retries, plus the SHA-256 of the source
file. conformance_test.go reads the JSON, so the core module needs no YAML
library. Run from the module root, with PyYAML installed:

    python3 testdata/openapi/extract.py ../shared/reference/bapi-2026-05-12.yml \
        ../shared/reference/bapi-2024-10-01.yml

(at dev time the reference directory is /work/shared/reference).
"""
import hashlib
import json
import os
import re
import sys

import yaml


def refs(node):
    """Yield every $ref string under node."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield v
            else:
                yield from refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from refs(v)


def extract(spec):
    paths = {p: v for p, v in spec["paths"].items() if p == "/sessions" or p.startswith("/sessions/")}
    out = {
        "openapi": spec.get("openapi"),
        "info": {"version": str(spec["info"]["version"])},
        "x-speakeasy-retries": spec.get("x-speakeasy-retries"),
        "paths": paths,
        "components": {},
    }
    todo = list(refs(paths))
    seen = set()
    while todo:
        ref = todo.pop()
        if ref in seen:
            continue
        seen.add(ref)
        m = re.fullmatch(r"#/components/([^/]+)/([^/]+)", ref)
        if not m:
            raise SystemExit("unsupported $ref " + ref)
        kind, name = m.groups()
        node = spec["components"][kind][name]
        out["components"].setdefault(kind, {})[name] = node
        todo.extend(refs(node))
    return out


def main(files):
    here = os.path.dirname(os.path.abspath(__file__))
    for f in files:
        raw = open(f, "rb").read()
        spec = yaml.safe_load(raw)
        out = extract(spec)
        out["x-source"] = {"file": os.path.basename(f), "sha256": hashlib.sha256(raw).hexdigest()}
        name = "sessions-%s.json" % out["info"]["version"]
        with open(os.path.join(here, name), "w") as w:
            json.dump(out, w, indent=1, sort_keys=True, default=str)
            w.write("\n")
        print("wrote", name, len(out["paths"]), "paths,",
              sum(len(v) for v in out["components"].values()), "components")


if __name__ == "__main__":
    main(sys.argv[1:])
