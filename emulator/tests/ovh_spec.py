"""Validator for OVHcloud's API-description format ("apis" + "models").

Checks a decoded JSON value against a type name of the spec: primitives,
enums, ``T[]`` arrays, ``map[string]T``, and nested models (required /
canBeNull members; unknown members are a failure). Used to prove every
control-plane response the tests see is shaped exactly like the spec.
"""

import datetime
import json
import os
import re
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
# The API descriptions vendored in the repository (specs/README.md says where they come from).
SPECS_DIR = os.environ.get("OKMS_SPECS_DIR") or os.path.join(REPO_ROOT, "specs")


class SpecError(AssertionError):
    pass


def _is_datetime(value):
    try:
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return True
    except ValueError:
        return False


PRIMITIVES = {
    "string": lambda v: isinstance(v, str),
    "text": lambda v: isinstance(v, str),
    "password": lambda v: isinstance(v, str),
    "uuid": lambda v: isinstance(v, str) and str(uuid.UUID(v)) == v.lower(),
    "datetime": lambda v: isinstance(v, str) and "T" in v and _is_datetime(v),
    "date": lambda v: isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v) is not None,
    "long": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "double": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "duration": lambda v: isinstance(v, str),
    "any": lambda v: True,  # a secret version's data: any JSON value
}


class Spec:
    def __init__(self, filename):
        with open(os.path.join(SPECS_DIR, filename), encoding="utf-8") as handle:
            doc = json.load(handle)
        self.models = doc["models"]
        self.operations = []
        for api in doc["apis"]:
            # A secret {path} holds "/" when sent raw (a/b); every other parameter is one segment.
            regex = re.compile("^" + re.sub(r"\{(\w+)\}", lambda m: ".+" if m.group(1) == "path" else "[^/]+",
                                            api["path"]) + "$")
            for op in api["operations"]:
                self.operations.append((op["httpMethod"], regex, api["path"], op))

    def operation(self, method, path):
        """The spec operation for a concrete path (without /v2 prefix or query)."""
        matches = [(tpl, op) for m, regex, tpl, op in self.operations if m == method and regex.match(path)]
        if not matches:
            raise SpecError(f"{method} {path}: not in the spec")
        # Prefer the most literal template (most literal characters, then fewest placeholders):
        # a raw secret path "a/version" is the version list of "a", as the emulator routes it.
        return min(matches, key=lambda t: (-len(re.sub(r"\{\w+\}", "", t[0])), t[0].count("{")))

    def validate(self, value, type_name, where="$"):
        if type_name.endswith("[]"):
            if not isinstance(value, list):
                raise SpecError(f"{where}: expected array of {type_name[:-2]}, got {type(value).__name__}")
            for index, item in enumerate(value):
                self.validate(item, type_name[:-2], f"{where}[{index}]")
            return
        if type_name.startswith("map[string]"):
            if not isinstance(value, dict):
                raise SpecError(f"{where}: expected object ({type_name})")
            for key, item in value.items():
                self.validate(item, type_name[len("map[string]"):], f"{where}.{key}")
            return
        if type_name == "void":
            if value is not None:
                raise SpecError(f"{where}: expected no content (void), got {value!r}")
            return
        if type_name in PRIMITIVES:
            try:
                ok = PRIMITIVES[type_name](value)
            except (ValueError, AttributeError, TypeError):
                ok = False
            if not ok:
                raise SpecError(f"{where}: {value!r} is not a valid {type_name}")
            return
        model = self.models.get(type_name)
        if model is None:
            raise SpecError(f"{where}: unknown type {type_name}")
        if "enum" in model:
            if value not in model["enum"]:
                raise SpecError(f"{where}: {value!r} not in enum {type_name} {model['enum']}")
            return
        if not isinstance(value, dict):
            raise SpecError(f"{where}: expected object {type_name}, got {type(value).__name__}")
        props = model.get("properties", {})
        unknown = sorted(set(value) - set(props))
        if unknown:
            raise SpecError(f"{where}: unknown member(s) {unknown} for {type_name}")
        for name, prop in props.items():
            if name not in value or value[name] is None:
                if not prop.get("canBeNull", True):
                    raise SpecError(f"{where}.{name}: required non-null member of {type_name} is missing/null")
                continue
            self.validate(value[name], prop.get("fullType") or prop["type"], f"{where}.{name}")

    def validate_response(self, method, path, value):
        template, op = self.operation(method, path)
        self.validate(value, op["responseType"], f"{method} {template}")
        return op
