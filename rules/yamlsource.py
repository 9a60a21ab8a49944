"""Read YAML rule files into plain data while remembering the line of every value.

YAML 1.1 reads ``no``, ``yes``, ``on`` and ``off`` as booleans; a municipal adviser writing
``measures_effective: no`` means the word, so only ``true`` and ``false`` are booleans here
(as in YAML 1.2). Duplicate keys are errors, not silently overwritten.
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rules import limits
from rules.errors import Problem, RuleFileError
from rules.limits import size_text

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


class _TooDeep(Exception):
    def __init__(self, line: int | None) -> None:
        self.line = line


# A file that libyaml cannot parse is parsed again by the Python parser for its messages up to
# this size; beyond it that costs seconds (a 250 KB file: 10 s on a loaded machine, measured).
_PYTHON_MESSAGES_BYTES = 64 * 1024
_BRACKETS = re.compile(r"[\[\]{}]")


def _compose(text: str) -> yaml.Node | None:
    """The node tree, by libyaml when it can; a file that does not parse is parsed again by the
    Python parser, whose messages (and marks for an unclosed bracket) the errors are built on —
    unless it is large, or nests deeper than the limit (libyaml gives up at 1,000 levels of
    brackets, where the Python parser would recurse for seconds)."""
    try:
        return yaml.compose(text, Loader=_Composer)
    except RecursionError:  # the composer recurses once per level
        raise _TooDeep(_bracket_line(text, limits.DEPTH + 1) or _deep_line(text)) from None
    except yaml.YAMLError:
        if _Composer is _Loader:
            raise
        deep = _bracket_line(text, _LIBYAML_DEPTH)
        if deep is not None:
            raise _TooDeep(deep) from None
        if len(text) > _PYTHON_MESSAGES_BYTES:
            raise
    try:
        return yaml.compose(text, Loader=_Loader)  # raises the Python parser's error
    except RecursionError:
        raise _TooDeep(_deep_line(text)) from None


_LIBYAML_DEPTH = 1000


def _bracket_line(text: str, reaching: int) -> int | None:
    """The line where ``[`` and ``{`` first nest deeper than the limit, if they nest ``reaching``
    deep somewhere; None if not. Counted in the raw text, quickly and blind to quotes: a hint for
    a file the parser refused."""
    depth, line = 0, None
    for match in _BRACKETS.finditer(text):
        if match.group() in "[{":
            depth += 1
            if depth > limits.DEPTH and line is None:
                line = text.count("\n", 0, match.start()) + 1
            if depth >= reaching:
                return line
        else:
            depth -= 1
            if depth <= 0:
                depth, line = 0, None
    return None


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


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def bounds_problems(root: yaml.Node, file: str) -> list[Problem]:
    """What in the node tree breaks the limits of :mod:`rules.limits`: a text too long, nesting
    too deep, too many values (an alias counted as a copy of what it refers to), an alias inside
    the value it refers to. The tree is walked once per distinct node, so an alias bomb costs no
    more to measure than its few nodes."""
    problems: list[Problem] = []
    size: dict[int, int] = {}  # values under a node, itself included, aliases expanded
    height: dict[int, int] = {}  # mappings and lists nested from a node down, itself included
    open_: set[int] = set()  # nodes whose children are being measured
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in size:
            continue
        kids = _children(node)
        if not children_done:
            if key in open_:  # reached again from under itself
                problems.append(Problem(file, _line(node), "",
                                        "this value holds an alias of itself (it would never end)"))
                return problems
            if isinstance(node, yaml.ScalarNode) and len(node.value) > limits.TEXT_CHARS:
                problems.append(Problem(file, _line(node), "",
                                        f"a text of {len(node.value):,} characters: a text may have at most "
                                        f"{limits.TEXT_CHARS:,} (docs/rule-language.md, Limits)"))
            if kids:
                open_.add(key)
                stack.append((node, True))
                stack.extend((kid, False) for kid in reversed(kids) if id(kid) not in size)
                continue
        open_.discard(key)
        size[key] = 1 + sum(size[id(kid)] for kid in kids)
        height[key] = 0 if isinstance(node, yaml.ScalarNode) else 1 + max((height[id(kid)] for kid in kids), default=0)
    if height[id(root)] > limits.DEPTH:
        node, depth = root, 1
        while depth <= limits.DEPTH:
            node = max(_children(node), key=lambda kid: height[id(kid)])
            depth += 1
        problems.append(_too_deep(file, _line(node)))
    if size[id(root)] > limits.VALUES:
        node = root
        while True:
            bigger = [kid for kid in _children(node) if size[id(kid)] > limits.VALUES]
            if not bigger:
                break
            node = bigger[0]
        what = "the file" if node is root else "this value"
        problems.append(Problem(file, _line(node), "",
                                f"{what} holds {size[id(node)]:,} values (each alias counted as a copy of what it "
                                f"refers to): a file may hold at most {limits.VALUES:,} "
                                "(docs/rule-language.md, Limits)"))
    return problems


def _too_deep(file: str, line: int | None) -> Problem:
    return Problem(file, line, "", f"nested more than {limits.DEPTH} levels deep: mappings and lists may be nested "
                                   f"{limits.DEPTH} deep at most (docs/rule-language.md, Limits)")


def _deep_line(text: str) -> int | None:
    """The line where nesting first goes deeper than the limit, read from the Python parser's
    events (it keeps no tree and does not recurse, so any depth is fine; libyaml's scanner gives up
    at 1,000 levels before it reports the first); None if it never does."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > limits.DEPTH:
                    return int(event.start_mark.line) + 1 if event.start_mark else None
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return None
    return None


def parse_yaml(text: str, file: str) -> Document:
    """Parse ``text``; raise :class:`RuleFileError` with file and line on bad YAML or on a
    limit of :mod:`rules.limits` broken."""
    try:
        node = _compose(text)
    except _TooDeep as exc:
        raise RuleFileError([_too_deep(file, exc.line)]) from None
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
    bounds = bounds_problems(node, file)
    if bounds:
        raise RuleFileError(bounds)
    constructor = _Loader(text)
    problems: list[Problem] = []
    try:
        doc.data = _build(node, (), doc, constructor, problems)
    except yaml.MarkedYAMLError as exc:  # a tag the safe loader cannot construct (!!python/..., !include)
        mark = exc.problem_mark or exc.context_mark
        raise RuleFileError([Problem(file, mark.line + 1 if mark else None, "",
                                     f"not allowed in a rule file: {exc.problem or exc.context}")]) from None
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


def too_large_problem(name: str, size: int) -> Problem:
    """A file over the size limit (:data:`rules.limits.FILE_BYTES`)."""
    return Problem(name, None, "", f"the file has {size_text(size)}: a rule file may have at most "
                                   f"{size_text(limits.FILE_BYTES)} (docs/rule-language.md, Limits)")


def read_bytes(path: Path, display: str | None = None) -> bytes:
    """The bytes of a YAML file, refused unread if it is not a regular file or is larger than
    the limit (read no further than the limit, should it grow meanwhile)."""
    name = display or str(path)
    info = path.stat()
    size = info.st_size
    if not stat.S_ISREG(info.st_mode):
        raise RuleFileError([Problem(name, None, "", "not a regular file: a rule file must be a plain file")])
    if size > limits.FILE_BYTES:
        raise RuleFileError([too_large_problem(name, size)])
    with path.open("rb") as f:
        data = f.read(limits.FILE_BYTES + 1)
    if len(data) > limits.FILE_BYTES:
        raise RuleFileError([too_large_problem(name, len(data))])
    return data


def read_yaml(path: Path, display: str | None = None) -> Document:
    """Read and parse a YAML file; ``display`` is the name used in error messages."""
    name = display or str(path)
    data = read_bytes(path, name)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise RuleFileError([Problem(name, None, "", "not UTF-8 text: save the file as UTF-8")]) from None
    try:
        return parse_yaml(text, name)
    except MemoryError:
        raise RuleFileError([Problem(name, None, "", "too large to read: the service ran out of memory "
                                                     "(docs/rule-language.md, Limits)")]) from None
