"""The shortcuts on a decision request's path give what the long way gave: a body is parsed by
orjson only when that gives what the strict reader gives (service.http._quick_json: it never
accepts what the strict reader refuses, and what it accepts parses to the same value, types
included), and a decision id is still a random version 4 UUID."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.wrappers import Request

import service.http as http
from service.http import ApiError, read_json

Node = tuple[str, Any]


def _strict(app: Flask, raw: bytes, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The strict reader's answer: the value, or the ApiError it raises."""
    with monkeypatch.context() as patch, app.test_request_context():
        patch.setattr(http, "_quick_json", lambda raw: http._DECLINED)
        request = Request.from_values(data=raw, content_type="application/json", method="POST")
        try:
            return read_json(request)
        except ApiError as exc:
            return exc


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return repr(a) == repr(b)
    return bool(a == b)


def _check(app: Flask, raw: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    quick = http._quick_json(raw)
    if quick is http._DECLINED:
        return
    strict = _strict(app, raw, monkeypatch)
    assert not isinstance(strict, ApiError), f"the quick path accepted what the strict reader refuses: {raw!r}"
    assert _same(quick, strict), raw


@pytest.mark.parametrize("raw", [
    b'{"a/": 1, "a\\/": 2}',  # the same key, once escaped
    b'{"a:b": 1, "a:b": 2}',
    b'{"k": "x:y", "k": "z"}',
    b'{"k": {"a": 1}, "j": {"a": 1, "a": 1}}',
    b'[{"a": 1}, {"b": 2, "b": 2}]',
    b'{"a": -9223372036854775809}',
    b'{"a": 18446744073709551616}',
    b'{"a": 1e400}',
    b'{"a": "\\ud800"}',
    b'{"\\u0061": 1, "a": 2}',
    b'\xef\xbb\xbf{}',
    b'{"a": NaN}',
    b"[" * 600 + b"]" * 600,
    b'{"a": "\xed\xa0\x80"}',
    b'{"subject": {"kind": "child", "age": 9}, "signals": ["withdrawn"], "note": "a: b, c: d"}',
])
def test_each_edge_is_declined_or_parsed_as_the_strict_reader_does(
        app: Flask, raw: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    _check(app, raw, monkeypatch)


def test_a_plain_body_takes_the_quick_path() -> None:
    raw = json.dumps({"subject": {"kind": "child", "age": 9}, "signals": ["withdrawn", {"code": "a:b"}]}).encode()
    assert http._quick_json(raw) == json.loads(raw)
    assert http._quick_json(b'{"a": 1, "a": 1}') is http._DECLINED


_KEYS = st.sampled_from(["a", "b", "a:", ":", "a/", "æ", "k\"", "x\\y", "a\nb", ""])
_LEAVES = st.one_of(
    st.tuples(st.just("str"), st.text(alphabet="ab:/\\\"æ\n\u2028 ", max_size=6)),
    st.tuples(st.just("int"), st.integers(min_value=-(2**70), max_value=2**70)),
    st.tuples(st.just("float"), st.floats(allow_nan=False, allow_infinity=False)),
    st.tuples(st.just("lit"), st.sampled_from(["true", "false", "null"])),
)
_NODES = st.recursive(_LEAVES, lambda inner: st.one_of(
    st.tuples(st.just("arr"), st.lists(inner, max_size=4)),
    st.tuples(st.just("obj"), st.lists(st.tuples(_KEYS, inner), max_size=4)),  # keys may repeat
), max_leaves=12)


def _string(text: str, style: int) -> str:
    out = json.dumps(text, ensure_ascii=style == 1)
    return out.replace("/", "\\/") if style == 2 else out


def _encode(node: Node, style: int) -> str:
    kind, value = node
    if kind == "str":
        return _string(value, style)
    if kind in ("int", "lit"):
        return str(value)
    if kind == "float":
        return repr(value).replace("inf", "1e999")
    if kind == "arr":
        return "[" + ", ".join(_encode(item, style) for item in value) + "]"
    return "{" + ",".join(f"{_string(k, style)}:{_encode(v, style)}" for k, v in value) + "}"


@settings(max_examples=400, deadline=None)
@given(node=_NODES, style=st.integers(0, 2))
def test_the_quick_path_never_differs_from_the_strict_reader(app: Flask, node: Node, style: int) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        _check(app, _encode(node, style).encode("utf-8"), monkeypatch)


def test_a_decision_id_is_a_random_version_4_uuid() -> None:
    import uuid

    from service.wire import decision_id

    ids = {decision_id() for _ in range(200)}
    assert len(ids) == 200
    for text in ids:
        parsed = uuid.UUID(hex=text)
        assert parsed.hex == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122
