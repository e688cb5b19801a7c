#!/usr/bin/env python3
"""Writes detection_finding-1.8.0.json: what tests/ocsf.rs checks every exported event
against, taken from the OCSF schema repository (https://github.com/ocsf/ocsf-schema) at a
release tag, so the check is the schema's and not our reading of it.

    python3 tests/data/ocsf/extract.py /path/to/ocsf-schema.git 1.8.0 > tests/data/ocsf/detection_finding-1.8.0.json

For the Detection Finding class (events/findings/detection_finding.json, extending
events/findings/finding.json and events/base_event.json, with the `cloud` profile
applied) and for every object our events nest (metadata, product, finding_info, cloud,
account, resource_details and the objects they extend), every attribute with its
requirement (required / recommended / optional), its dictionary type, whether it is an
array, and its enum's keys where it has one; and each object's `at_least_one`
constraint. Attributes of profiles we do not apply are left out, so emitting one fails.
"""
import json
import subprocess
import sys

REPO, TAG = sys.argv[1], sys.argv[2]
PROFILES = ["cloud"]  # the profiles our events apply (metadata.profiles)
OBJECTS = ["metadata", "product", "finding_info", "cloud", "account", "resource_details"]


def show(path):
    out = subprocess.run(["git", "-C", REPO, "show", f"{TAG}:{path}"], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


commit = subprocess.run(["git", "-C", REPO, "rev-parse", f"{TAG}^{{commit}}"], check=True,
                        capture_output=True, text=True).stdout.strip()
dictionary = show("dictionary.json")
types = dictionary["types"]["attributes"]


def own_attributes(doc):
    """A file's attributes, with the applied profiles' includes merged in."""
    attrs = {}
    for name, spec in doc.get("attributes", {}).items():
        if name == "$include":
            for inc in spec:
                profile = inc.split("/")[-1].removesuffix(".json")
                if profile in PROFILES:
                    for n, s in show(inc)["attributes"].items():
                        attrs.setdefault(n, {}).update(s)
            continue
        if spec.get("profile") and spec["profile"] not in PROFILES:
            continue
        attrs.setdefault(name, {}).update(spec)
    return attrs


def chain(path_of, name):
    """Attributes merged along `extends` (the child's fields win), and the files read."""
    doc = show(path_of(name))
    files = [path_of(name)]
    attrs, constraints = {}, doc.get("constraints", {})
    if "extends" in doc:
        attrs, parent_constraints, parent_files = chain(path_of, doc["extends"])
        constraints = constraints or parent_constraints
        files = parent_files + files
    for n, s in own_attributes(doc).items():
        merge(attrs.setdefault(n, {}), s)
    return attrs, constraints, files


def merge(into, spec):
    """A child's fields win, but an enum grows: a class adds values to its parent's
    (base_event's activity_id has 0 and 99, finding's adds 1 to 3)."""
    for k, v in spec.items():
        if k == "enum" and "enum" in into:
            into["enum"] = {**into["enum"], **v}
        else:
            into[k] = v


def event_path(name):
    return {"base_event": "events/base_event.json",
            "finding": "events/findings/finding.json",
            "detection_finding": "events/findings/detection_finding.json"}[name]


def describe(attrs):
    out = {}
    for name, spec in sorted(attrs.items()):
        d = dictionary["attributes"][name]
        merged = dict(d)
        merge(merged, spec)
        t = merged["type"]
        entry = {"requirement": merged.get("requirement", "optional"), "type": t,
                 "base": types[t].get("type", t) if t in types else "object",
                 "is_array": bool(merged.get("is_array", False))}
        if "enum" in merged:
            entry["enum"] = sorted(merged["enum"].keys(), key=int)
        out[name] = entry
    return out


attrs, _, files = chain(event_path, "detection_finding")
# The schema server derives these three from the class (uid 4 in category 2) and the
# activity: class_uid = 2004, category_uid = 2, type_uid = class_uid * 100 + activity_id.
# base_event's own enum for them holds only 0 (Unknown).
attrs["class_uid"]["enum"] = {"2004": {}}
attrs["category_uid"]["enum"] = {"2": {}}
attrs["type_uid"]["enum"] = {str(2004 * 100 + int(a)): {} for a in attrs["activity_id"]["enum"]}
doc = {
    "source": "https://github.com/ocsf/ocsf-schema",
    "version": TAG,
    "commit": commit,
    "profiles": PROFILES,
    "class": {"name": "detection_finding", "uid": 2004, "category_uid": 2,
              "files": files + ["dictionary.json"] + [f"profiles/{p}.json" for p in PROFILES],
              "attributes": describe(attrs)},
    "objects": {},
}
for name in OBJECTS:
    attrs, constraints, files = chain(lambda n: f"objects/{n}.json", name)
    doc["objects"][name] = {"files": files, "constraints": constraints,
                            "attributes": describe(attrs)}
json.dump(doc, sys.stdout, indent=1, sort_keys=False)
print()
