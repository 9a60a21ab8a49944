"""The README's example request gives the answer the README shows (texts aside)."""

from __future__ import annotations

import json
import re

from flask.testing import FlaskClient

from service.paths import BUNDLED

ROOT = BUNDLED.parent

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _example() -> tuple[str, dict, dict]:
    command = re.search(r"```sh\n(curl .*?)```", README, re.S)
    assert command, "the README has a curl example"
    url = re.search(r"'(http://127\.0\.0\.1:8080[^']+)'", command.group(1))
    body = re.search(r"-d '(\{.*\})'", command.group(1))
    answer = re.search(r"```json\n(.*?)```", README, re.S)
    assert url and body and answer
    return url.group(1).removeprefix("http://127.0.0.1:8080"), json.loads(body.group(1)), json.loads(answer.group(1))


def test_readme_lists_the_two_commands() -> None:
    first_screen = "\n".join(README.splitlines()[:30])
    assert "make run" in first_screen and "make test" in first_screen


def test_readme_example_answer(client: FlaskClient) -> None:
    path, body, shown = _example()
    response = client.post(path, json=body)
    assert response.status_code == 200
    actual = response.get_json()
    # the digest changes with every edit of a national file; the README shows one real digest
    assert actual["ruleset"]["version"] == shown["ruleset"]["version"]
    assert actual["ruleset"]["status"] == shown["ruleset"]["status"]
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", shown["ruleset"]["digest"])
    for key in ("municipality", "lang", "level", "level_name", "urgent", "actors", "forbidden", "consent"):
        assert actual[key] == shown[key], key
    assert [(s["code"], s["kind"], s["legal_basis"], s["guidance"], s["due_days"]) for s in actual["steps"]] == [
        (s["code"], s["kind"], s["legal_basis"], s["guidance"], s["due_days"]) for s in shown["steps"]]
    assert [(e["rule"], e["title"], e["signals"]) for e in actual["explanation"]] == [
        (e["rule"], e["title"], e["signals"]) for e in shown["explanation"]]
    for text_actual, text_shown in zip(actual["steps"], shown["steps"], strict=True):
        assert text_actual["text"].startswith(text_shown["text"].removesuffix(" …").rstrip())
