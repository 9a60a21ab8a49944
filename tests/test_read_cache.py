"""The read-only guide endpoints answer from encoded bodies kept per registry and language
(service.read_cache): the same bytes and headers as building them anew, and a reload is seen."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest
from flask.testing import FlaskClient

from service.app import create_app, store_of
from service.catalog_view import catalog_body
from service.paths import BUNDLED
from service.read_cache import ReadCache

READS = ("/v1/catalog", "/v1/municipalities", "/v1/municipalities/tromso", "/v1/municipalities/national")


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize("lang", ["nb", "nn", "en"])
def test_a_read_answered_again_is_the_same_bytes_and_headers(client: FlaskClient, path: str, lang: str) -> None:
    first = client.get(f"{path}?lang={lang}")
    again = client.get(f"{path}?lang={lang}")
    assert first.status_code == again.status_code == 200
    assert first.data == again.data and first.data.endswith(b"}\n")
    assert dict(first.headers) == dict(again.headers)
    assert first.headers["Content-Type"] == "application/json"
    assert first.headers["Content-Language"] == lang and first.headers["Cache-Control"] == "no-store"
    assert first.headers["Content-Length"] == str(len(first.data))


def test_the_kept_catalog_is_the_catalog_built_anew(client: FlaskClient) -> None:
    national = store_of(client.application).registry.guides["national"]
    for lang in ("en", "nb"):
        sent = client.get("/v1/catalog", headers={"Accept-Language": lang})
        assert orjson.loads(sent.data) == catalog_body(national.catalog, lang)


def test_each_language_is_kept_apart(client: FlaskClient) -> None:
    english = client.get("/v1/municipalities/tromso?lang=en").get_json()
    bokmal = client.get("/v1/municipalities/tromso?lang=nb").get_json()
    assert english["levels"] != bokmal["levels"]  # level names in each language
    assert client.get("/v1/municipalities/tromso?lang=en").get_json() == english


def test_a_bad_language_or_guide_is_still_refused_after_a_good_read(client: FlaskClient) -> None:
    assert client.get("/v1/catalog").status_code == 200
    refused = client.get("/v1/catalog?lang=xx")
    assert refused.status_code == 422 and refused.get_json()["error"]["details"][0]["field"] == "lang"
    assert client.get("/v1/municipalities/tromso").status_code == 200
    assert client.get("/v1/municipalities/tromsø").status_code == 404


def test_a_reload_is_seen_by_every_read(tmp_path: Path) -> None:
    root = tmp_path / "municipalities"
    shutil.copytree(BUNDLED, root, ignore=shutil.ignore_patterns("scenarios"))
    app = create_app({"TESTING": True, "BTI_MUNICIPALITIES": str(root)})
    client = app.test_client()
    before = {path: client.get(path).get_json() for path in READS}
    assert before["/v1/municipalities/tromso"]["version"] == "2026.1"

    guide_yaml = root / "tromso" / "guide.yaml"
    guide_yaml.write_text(guide_yaml.read_text(encoding="utf-8").replace('version: "2026.1"', 'version: "2026.9"'),
                          encoding="utf-8")
    catalog = root / "national" / "catalog.yaml"
    catalog.write_text(catalog.read_text(encoding="utf-8").replace('en: "School absence"', 'en: "Absence from school"'),
                       encoding="utf-8")
    assert store_of(app).check()

    tromso = client.get("/v1/municipalities/tromso").get_json()
    assert tromso["version"] == "2026.9" and tromso["digest"] != before["/v1/municipalities/tromso"]["digest"]
    listed = {m["id"]: m for m in client.get("/v1/municipalities").get_json()["municipalities"]}
    assert listed["tromso"]["version"] == "2026.9"
    labels = {s["code"]: s["label"] for s in client.get("/v1/catalog?lang=en").get_json()["signals"]}
    assert labels["school_absence"] == "Absence from school"


def test_the_cache_starts_again_when_it_is_full(monkeypatch: pytest.MonkeyPatch, client: FlaskClient) -> None:
    import service.read_cache as read_cache

    monkeypatch.setattr(read_cache, "MAX_BYTES", 50_000)  # one guide (≈ 35 kB) fits, two do not
    sent = {gid: client.get(f"/v1/municipalities/{gid}").data for gid in ("tromso", "loten")}
    cache, registry, built = ReadCache(), store_of(client.application).registry, []

    def build(gid: str) -> object:
        built.append(gid)
        return orjson.loads(sent[gid])

    with client.application.app_context():
        for gid in ("tromso", "tromso", "loten", "loten", "tromso"):
            assert cache.response(registry, gid, lambda gid=gid: build(gid)).get_data() == sent[gid]
            assert cache._size <= 50_000
    assert built == ["tromso", "loten", "tromso"]


def test_the_cache_does_not_keep_a_swapped_out_registry_alive(tmp_path: Path) -> None:
    import gc
    import weakref

    root = tmp_path / "municipalities"
    shutil.copytree(BUNDLED, root, ignore=shutil.ignore_patterns("scenarios"))
    app = create_app({"TESTING": True, "BTI_MUNICIPALITIES": str(root)})
    client = app.test_client()
    assert client.get("/v1/municipalities/tromso").status_code == 200
    before = weakref.ref(store_of(app).registry)
    guide_yaml = root / "tromso" / "guide.yaml"
    guide_yaml.write_text(guide_yaml.read_text(encoding="utf-8").replace('version: "2026.1"', 'version: "2026.9"'),
                          encoding="utf-8")
    assert store_of(app).check()
    gc.collect()
    assert before() is None
