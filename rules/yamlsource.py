"""Read YAML rule files into plain data while remembering the line of every value.

YAML 1.1 reads ``no``, ``yes``, ``on`` and ``off`` as booleans; a municipal adviser writing
``measures_effective: no`` means the word, so only ``true`` and ``false`` are booleans here
(as in YAML 1.2). Duplicate keys are errors, not silently overwritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rules.errors import Problem, RuleFileError

Path_ = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)

# libyaml's parser, where PyYAML was built with it, with the same resolvers: it composes the
# node tree several times faster (half of a guide's load time was YAML parsing, measured).
_Composer: Any = _Loader
if hasattr(yaml, "CSafeLoader"):
    class _CLoader(yaml.CSafeLoader):
        """CSafeLoader with YAML 1.2 booleans."""

    _CLoader.yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers
    _Composer = _CLoader


def _compose(text: str) -> yaml.Node | None:
    """The node tree, by libyaml when it can; a file that does not parse is parsed again by the
    Python parser, whose messages (and marks for an unclosed bracket) the errors are built on."""
    try:
        return yaml.compose(text, Loader=_Composer)
    except yaml.YAMLError:
        if _Composer is _Loader:
            raise
        return yaml.compose(text, Loader=_Loader)  # raises the Python parser's error


@dataclass
class Document:
    """A parsed YAML file: its data and the 1-based line of each value by its path."""

    file: str
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Path_) -> int | None:
        """The line of the value at ``path``, or of its nearest ancestor that has one."""
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return None
            path = path[:-1]


def format_path(path: Path_) -> str:
    """``('rules', 0, 'when')`` → ``rules[0].when``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def parse_yaml(text: str, file: str) -> Document:
    """Parse ``text``; raise :class:`RuleFileError` with file and line on bad YAML."""
    try:
        node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        message = f"not valid YAML: {exc.problem or exc.context}"
        hint = " (check indentation, colons and quotes on this line)"
        if exc.context and "flow" in exc.context and exc.context_mark is not None:
            # an unclosed [ or {: point at where it was opened, not where the parser gave up
            opened = exc.context_mark.line + 1
            if line != opened:
                hint = f" (the bracket opened on line {opened} is not closed; the parser gave up on line {line})"
                line = opened
        raise RuleFileError([Problem(file, line, "", message + hint)]) from None
    except yaml.YAMLError as exc:
        raise RuleFileError([Problem(file, None, "", f"not valid YAML: {exc}")]) from None
    doc = Document(file, None)
    if node is None:
        doc.data = None
        return doc
    constructor = _Loader(text)
    problems: list[Problem] = []
    try:
        doc.data = _build(node, (), doc, constructor, problems)
    except yaml.MarkedYAMLError as exc:  # a tag the safe loader cannot construct (!!python/..., !include)
        mark = exc.problem_mark or exc.context_mark
        raise RuleFileError([Problem(file, mark.line + 1 if mark else None, "",
                                     f"not allowed in a rule file: {exc.problem or exc.context}")]) from None
    except RecursionError:
        raise RuleFileError([Problem(file, None, "", "nested too deeply to read")]) from None
    if problems:
        raise RuleFileError(problems)
    return doc


_PLAIN_TAGS: dict[type[yaml.Node], str] = {yaml.MappingNode: "tag:yaml.org,2002:map",
                                           yaml.SequenceNode: "tag:yaml.org,2002:seq"}


def _build(node: yaml.Node, path: Path_, doc: Document, ctor: yaml.SafeLoader, problems: list[Problem]) -> Any:
    doc.lines.setdefault(path, node.start_mark.line + 1)
    plain = _PLAIN_TAGS.get(type(node))
    if plain is not None and node.tag != plain:
        # a mapping or list is read as plain data whatever its tag says: say so rather than drop it
        tag = node.tag.replace("tag:yaml.org,2002:", "!!")
        problems.append(Problem(doc.file, node.start_mark.line + 1, format_path(path),
                                f"the tag {tag[:64]} is not allowed in a rule file: remove it"))
    if isinstance(node, yaml.MappingNode):
        ctor.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = ctor.construct_object(key_node, deep=True)
            if not isinstance(key, str | int) or isinstance(key, bool):
                problems.append(Problem(doc.file, key_node.start_mark.line + 1, format_path(path),
                                        f"a key must be a word, not {key!r}"))
                continue
            if key in out:
                problems.append(Problem(doc.file, key_node.start_mark.line + 1, format_path((*path, key)),
                                        f"duplicate key {key!r}: each key may appear once in a mapping"))
                continue
            doc.lines[(*path, key)] = key_node.start_mark.line + 1
            out[key] = _build(value_node, (*path, key), doc, ctor, problems)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), doc, ctor, problems) for i, item in enumerate(node.value)]
    return ctor.construct_object(node, deep=True)


def display_name(path: Path, root: Path | None) -> str:
    """How errors name ``path``: relative to ``root`` when it lies under it."""
    try:
        return str(path.relative_to(root)) if root else str(path)
    except ValueError:
        return str(path)


def read_yaml(path: Path, display: str | None = None) -> Document:
    """Read and parse a YAML file; ``display`` is the name used in error messages."""
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise RuleFileError([Problem(name, None, "", "not UTF-8 text: save the file as UTF-8")]) from None
    return parse_yaml(text, name)
