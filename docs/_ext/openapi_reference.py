"""Renders the broker's OpenAPI 3 document as MyST Markdown, offline, into one docs page.

A page that holds the line ``<!-- openapi-reference -->`` (alone on its line) gets, in its place,
every operation of ``openapi_spec`` (conf.py; a path relative to the docs folder): its method and
path, summary,
description, parameters, request body and replies; then the shared replies and every schema of
``components``, each with a label (``api-op-<operationid>``, ``api-response-<name>``,
``api-schema-<name>``) that other pages can reference. Descriptions are Markdown in the spec, so
they are passed through as written and MyST renders them.

Why ours: sphinxcontrib-openapi 0.10 (the maintained one on PyPI) builds with Sphinx 9 only in its
bare form. With ``:request:`` or ``:examples:`` it makes reST that docutils warns about on this spec
(a field list ended without a blank line), ``:format: markdown`` does the same, and it renders no
``components`` schemas at all, so ``-W`` fails or the reference loses the reply shapes.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import yaml

MARKER = "<!-- openapi-reference -->"
METHODS = ("get", "put", "post", "patch", "delete", "head", "options")


def _label(kind: str, name: str) -> str:
    return f"api-{kind}-{name}".lower()


def _cell(text: Any) -> str:
    """One table cell: a single line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _code(value: Any) -> str:
    text = (
        value if isinstance(value, str) else yaml.safe_dump(value, default_flow_style=True).strip()
    )
    if text.endswith("\n..."):
        text = text[: -len("\n...")]
    text = text.strip()
    fence = "``" if "`" in text else "`"
    pad = " " if "`" in text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


class Renderer:
    def __init__(self, spec: dict[str, Any]):
        self.spec = spec

    # -- references -----------------------------------------------------------------------------

    def resolve(self, node: Any) -> Any:
        """A parameter, reply or body behind a local ``$ref`` (schemas stay links)."""
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self.spec
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node

    @staticmethod
    def ref_name(ref: str) -> tuple[str, str]:
        parts = ref.lstrip("#/").split("/")
        kind = {"schemas": "schema", "responses": "response", "parameters": "parameter"}
        return kind.get(parts[-2], parts[-2]), parts[-1]

    def link(self, ref: str) -> str:
        kind, name = self.ref_name(ref)
        return f"{{ref}}`{name} <{_label(kind, name)}>`"

    # -- schemas --------------------------------------------------------------------------------

    def type_of(self, schema: dict[str, Any] | None) -> str:
        """A schema in a few words: its type, format, bounds, values and default."""
        if not schema:
            return "any"
        if "$ref" in schema:
            return self.link(schema["$ref"])
        for key, joiner in (("oneOf", " or "), ("anyOf", " or "), ("allOf", " and ")):
            if key in schema:
                words = joiner.join(self.type_of(part) for part in schema[key])
                return words + (", or null" if schema.get("nullable") else "")
        kind = schema.get("type", "any")
        if kind == "array":
            words = f"array of {self.type_of(schema.get('items'))}"
            if "maxItems" in schema:
                words += f" (at most {schema['maxItems']})"
        elif kind == "object" and "properties" not in schema and schema.get("additionalProperties"):
            extra = schema["additionalProperties"]
            words = "object of " + (self.type_of(extra) if isinstance(extra, dict) else "any")
        else:
            words = kind
        if "format" in schema:
            words += f" ({schema['format']})"
        details = []
        if "const" in schema:  # OpenAPI 3.1: one value
            details.append(f"always {_code(schema['const'])}")
        if "enum" in schema:
            details.append("one of " + ", ".join(_code(value) for value in schema["enum"]))
        if "minLength" in schema or "maxLength" in schema:
            low, high = schema.get("minLength"), schema.get("maxLength")
            if low and high is not None:
                details.append(f"{low} to {high} characters")
            elif high is not None:
                details.append(f"at most {high} characters")
            elif low:
                details.append(f"at least {low} characters")
        if "minimum" in schema or "maximum" in schema:
            low, high = schema.get("minimum"), schema.get("maximum")
            if low is not None and high is not None:
                details.append(f"{low} to {high}")
            elif high is not None:
                details.append(f"at most {high}")
            else:
                details.append(f"at least {low}")
        if "pattern" in schema:
            details.append(f"matches {_code(schema['pattern'])}")
        if "default" in schema:
            details.append(f"default {_code(schema['default'])}")
        if schema.get("nullable"):
            words += " or null"
        if details:
            words += ": " + "; ".join(details)
        return words

    def fields(self, schema: dict[str, Any]) -> list[str]:
        """A table of an object schema's properties (empty for anything else)."""
        properties = schema.get("properties")
        if not properties:
            return []
        required = set(schema.get("required", ()))
        lines = ["| field | type | required | description |", "|---|---|---|---|"]
        for name, prop in properties.items():
            description = (prop or {}).get("description", "")
            if prop and prop.get("readOnly"):
                description = f"{description} (in replies only)".strip()
            lines.append(
                f"| `{name}` | {_cell(self.type_of(prop))} | {'yes' if name in required else ''} "
                f"| {_cell(description)} |"
            )
        extra = schema.get("additionalProperties")
        if extra is False:
            lines += ["", "No other field is allowed."]
        return lines + [""]

    def body_cell(self, content: dict[str, Any] | None) -> str:
        if not content:
            return ""
        parts = []
        for media, spec in content.items():
            schema = (spec or {}).get("schema")
            parts.append(f"`{media}`" + (f": {self.type_of(schema)}" if schema else ""))
        return "; ".join(parts)

    def inline_objects(self, content: dict[str, Any] | None, title: str) -> list[str]:
        lines: list[str] = []
        for media, spec in (content or {}).items():
            schema = (spec or {}).get("schema") or {}
            if "$ref" in schema or not schema.get("properties"):
                continue
            lines += [f"{title} (`{media}`):", ""] + self.fields(schema)
        return lines

    # -- the page -------------------------------------------------------------------------------

    def operation(self, path: str, method: str, item: dict[str, Any], op: dict[str, Any]):
        name = op.get("operationId", f"{method}-{path}")
        lines = [f"({_label('op', name)})=", f"### `{method.upper()} {path}`", ""]
        if op.get("summary"):
            lines += [op["summary"][0].upper() + op["summary"][1:] + ".", ""]
        if op.get("description"):
            lines += [textwrap.dedent(op["description"]).strip(), ""]
        params = [self.resolve(p) for p in item.get("parameters", []) + op.get("parameters", [])]
        if params:
            lines += [
                "**Parameters**",
                "",
                "| name | in | type | required | description |",
                "|---|---|---|---|---|",
            ]
            for param in params:
                lines.append(
                    f"| `{param['name']}` | {param['in']} | {_cell(self.type_of(param.get('schema')))} "
                    f"| {'yes' if param.get('required') else ''} "
                    f"| {_cell(param.get('description', ''))} |"
                )
            lines.append("")
        body = self.resolve(op.get("requestBody"))
        if body:
            required = "required" if body.get("required") else "optional"
            lines += [f"**Request body** ({required}): {self.body_cell(body.get('content'))}", ""]
            if body.get("description"):
                lines += [textwrap.dedent(body["description"]).strip(), ""]
            lines += self.inline_objects(body.get("content"), "Its fields")
        replies = op.get("responses", {})
        if replies:
            lines += ["**Replies**", "", "| status | what | body |", "|---|---|---|"]
            inline: list[str] = []
            shared: dict[str, list[str]] = {}  # statuses that share a reply: one row
            for status, reply in replies.items():
                if "$ref" in reply:
                    shared.setdefault(reply["$ref"], []).append(str(status))
                    continue
                what = reply.get("description", "")
                headers = reply.get("headers") or {}
                if headers:
                    what += " (headers: " + ", ".join(f"`{h}`" for h in headers) + ")"
                body_cell = self.body_cell(reply.get("content"))
                inline += self.inline_objects(reply.get("content"), f"The {status} reply's fields")
                lines.append(f"| {status} | {_cell(what)} | {_cell(body_cell)} |")
            for ref, statuses in shared.items():
                body_cell = self.body_cell(self.resolve({"$ref": ref}).get("content"))
                lines.append(f"| {', '.join(statuses)} | {self.link(ref)} | {_cell(body_cell)} |")
            lines += [""] + inline
        return lines

    def render(self) -> str:
        spec = self.spec
        info = spec.get("info", {})
        lines = [
            f"The document below is `openapi.yaml`, OpenAPI {spec.get('openapi', '3')}, "
            f"version {info.get('version', '?')} of the API.",
            "",
        ]
        if info.get("description"):
            lines += [textwrap.dedent(info["description"]).strip(), ""]
        schemes = spec.get("components", {}).get("securitySchemes", {})
        if schemes:
            lines += ["## Authentication", ""]
            for name, scheme in schemes.items():
                where = f"the `{scheme.get('name')}` {scheme.get('in', '')}".strip()
                lines.append(
                    f"- `{name}` ({scheme.get('type')}, {where}): {scheme.get('description', '')}"
                )
            lines.append("")
        lines += ["## Operations", ""]
        for path, item in spec.get("paths", {}).items():
            for method in METHODS:
                if method in item:
                    lines += self.operation(path, method, item, item[method])
        components = spec.get("components", {})
        if components.get("responses"):
            lines += ["## Shared replies", ""]
            for name, reply in components["responses"].items():
                lines += [f"({_label('response', name)})=", f"### {name}", ""]
                lines += [reply.get("description", "").rstrip(".") + ".", ""]
                if reply.get("content"):
                    lines += [f"Body: {self.body_cell(reply['content'])}", ""]
                lines += self.inline_objects(reply.get("content"), "Its fields")
        if components.get("schemas"):
            lines += ["## Schemas", ""]
            for name, schema in components["schemas"].items():
                lines += [f"({_label('schema', name)})=", f"### {name}", ""]
                if schema.get("description"):
                    lines += [textwrap.dedent(schema["description"]).strip(), ""]
                table = self.fields(schema)
                lines += table or [f"A value of type {self.type_of(schema)}.", ""]
        return "\n".join(lines) + "\n"


def _source_read(app, docname: str, source: list[str]) -> None:
    lines = source[0].split("\n")
    if MARKER not in lines:  # the marker alone on its line, not quoted in prose
        return
    spec_path = (Path(app.confdir) / app.config.openapi_spec).resolve()
    app.env.note_dependency(str(spec_path))
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    lines[lines.index(MARKER)] = Renderer(spec).render()
    source[0] = "\n".join(lines)


def setup(app):
    app.add_config_value("openapi_spec", "openapi.yaml", "env")
    app.connect("source-read", _source_read)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
