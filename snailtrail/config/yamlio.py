"""Safe YAML loading with errors that name the file and the line.

Stricter than YAML itself, where YAML's leniency hides a mistake or costs the machine: a key given
twice (the last would win silently: a second endpoint_url redirects every call), anchors and
aliases (an alias bomb expands to gigabytes once printed) and nesting deeper than any
configuration needs (the composer recurses: RecursionError) are refused, naming the line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from snailtrail.errors import ConfigError

MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 32  # a phase manifest nests 5 levels deep; PyYAML's composer overflows Python's stack near 300


class RefusedYaml(yaml.MarkedYAMLError):
    """Valid YAML that snailtrail refuses; ``fix`` says what to write instead."""

    def __init__(self, problem: str, mark: yaml.Mark, fix: str) -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.fix = fix


class StrictLoader(yaml.SafeLoader):
    """yaml.SafeLoader without duplicate keys, anchors, aliases, or nesting deeper than MAX_DEPTH."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._path: list[str] = []  # the field being composed, as the errors name it
        self._depth = 0  # keys count too: a complex key (? ...) nests without a field name

    def field(self) -> str:
        return "".join(part if part.startswith("[") else f".{part}" for part in self._path).lstrip(".")

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        event = self.peek_event()
        # PyYAML composes a mapping's value with its key node as the index, a sequence's item with its position.
        step = index.value if isinstance(index, yaml.ScalarNode) else f"[{index}]" if isinstance(index, int) else None
        if step is not None:
            self._path.append(str(step))
        self._depth += 1
        try:
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
                raise RefusedYaml(
                    f"{self.field() or 'the document'}: anchors (&name) and aliases (*name) are not accepted",
                    event.start_mark,
                    fix="write the value out in full where it is used",
                )
            if self._depth > MAX_DEPTH:
                raise RefusedYaml(
                    f"{self.field()[:200]}: nested more than {MAX_DEPTH} levels deep",
                    event.start_mark,
                    fix="flatten the value: no field of snailtrail's nests so deep",
                )
            node = super().compose_node(parent, index)
            if isinstance(node, yaml.MappingNode):
                self._refuse_duplicate_keys(node)
            return node
        finally:
            self._depth -= 1
            if step is not None:
                self._path.pop()

    def _refuse_duplicate_keys(self, node: yaml.MappingNode) -> None:
        seen: set[tuple[str, str]] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue  # unhashable: the constructor refuses it with its own message
            key = (key_node.tag, key_node.value)
            if key in seen:
                field = ".".join(part for part in (self.field(), key_node.value) if part)
                raise RefusedYaml(
                    f"{field}: a duplicate key (YAML would keep the last one silently)",
                    key_node.start_mark,
                    fix=f"keep one {key_node.value!r} in this mapping",
                )
            seen.add(key)


def load_yaml_mapping(path: Path) -> dict[str, Any]:
    """Load one YAML document that must be a mapping; never constructs arbitrary objects."""
    if not path.is_file():
        raise ConfigError(f"{path}: file not found", fix="check the path, or pass --config PATH")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ConfigError(
            f"{path}: larger than {MAX_FILE_BYTES} bytes", fix="a configuration file is small; check the path"
        )
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=StrictLoader)  # noqa: S506 - a SafeLoader
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})", fix="save the file as UTF-8") from None
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or str(exc)
        if isinstance(exc, RefusedYaml):
            raise ConfigError(f"{path}{where}: {problem}", fix=exc.fix) from None
        raise ConfigError(f"{path}: invalid YAML{where}: {problem}", fix="fix the YAML syntax there") from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: expected a mapping at the top level, got {type(data).__name__}",
            fix="the file must hold `key: value` pairs",
        )
    return data
