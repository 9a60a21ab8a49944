"""The deployment files: the Containerfile passes hadolint; every Kubernetes overlay renders with
`kubectl kustomize` and validates against a current Kubernetes (kubernetes-validate, strict); the
rendered objects keep what docs/deployment.md promises; and the rule folder survives the trip
through a ConfigMap, including an update the way the kubelet makes it.

hadolint and kubernetes-validate come with the dev extras, kubectl with the machine (or
.ci/install-tools). A missing tool skips its test with the reason; with CI set it fails instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from rules.loader import load_registry
from service.server import DRAIN_SECONDS, GRACEFUL_TIMEOUT, TIMEOUT
from service.store import GuideStore

ROOT = Path(__file__).resolve().parent.parent

KUBERNETES = ROOT / "deploy" / "kubernetes"
OVERLAYS = sorted(p.name for p in (KUBERNETES / "overlays").iterdir() if (p / "kustomization.yaml").is_file())
GENERATOR = KUBERNETES / "rules_configmap.py"


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        problem = f"{name} is not installed (dev extras: pip install -e '.[dev]'; kubectl: .ci/install-tools)"
        if os.environ.get("CI"):
            pytest.fail(f"required in CI: {problem}")
        pytest.skip(problem)
    return found


def _run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, **kwargs)


def _generate(municipalities: Path, out: Path) -> None:
    done = _run([sys.executable, str(GENERATOR), str(municipalities), "--out", str(out)])
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Each overlay rendered from a copy of deploy/kubernetes with the bundled guides' ConfigMap."""
    kubectl = _tool("kubectl")
    tree = tmp_path_factory.mktemp("kubernetes") / "kubernetes"
    shutil.copytree(KUBERNETES, tree, ignore=shutil.ignore_patterns("rules", "__pycache__"))
    _generate(ROOT / "municipalities", tree / "rules")
    out = {}
    for overlay in OVERLAYS:
        done = _run([kubectl, "kustomize", str(tree / "overlays" / overlay)])
        assert done.returncode == 0, f"{overlay}: {done.stderr}"
        out[overlay] = done.stdout
    return out


def _objects(text: str) -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for doc in yaml.safe_load_all(text) if doc}


def test_the_containerfile_passes_hadolint() -> None:
    hadolint = _tool("hadolint")
    done = _run([hadolint, "--failure-threshold", "info", str(ROOT / "Containerfile")])
    assert done.returncode == 0, done.stdout + done.stderr


def test_there_are_two_overlays() -> None:
    assert OVERLAYS == ["production", "single"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_overlay_validates_against_a_current_kubernetes(overlay: str, rendered: dict[str, str],
                                                              tmp_path: Path) -> None:
    validate = _tool("kubernetes-validate")
    manifest = tmp_path / f"{overlay}.yaml"
    manifest.write_text(rendered[overlay], encoding="utf-8")
    # without -k: the newest Kubernetes release the installed kubernetes-validate knows
    done = _run([validate, "--strict", str(manifest)])
    assert done.returncode == 0, done.stdout + done.stderr
    version = re.search(r"against version (\d+\.\d+)", done.stdout)
    assert version and tuple(map(int, version.group(1).split("."))) >= (1, 34), done.stdout
    kinds = sorted(_objects(rendered[overlay]))
    expected = ["ConfigMap", "Deployment", "Service"]
    if overlay == "production":
        expected += ["HorizontalPodAutoscaler", "Ingress", "PodDisruptionBudget"]
    assert kinds == sorted(expected)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_deployment_keeps_what_the_deployment_guide_promises(overlay: str, rendered: dict[str, str]) -> None:
    objects = _objects(rendered[overlay])
    pod = objects["Deployment"]["spec"]["template"]
    spec = pod["spec"]
    (container,) = spec["containers"]
    probes = {kind: container[kind]["httpGet"]["path"] for kind in ("startupProbe", "readinessProbe", "livenessProbe")}
    assert probes == {"startupProbe": "/healthz", "readinessProbe": "/readyz", "livenessProbe": "/healthz"}
    # the pause before SIGTERM, then gunicorn's graceful period and its drain, all inside the grace period
    pause = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert spec["terminationGracePeriodSeconds"] > pause + GRACEFUL_TIMEOUT + DRAIN_SECONDS
    # restricted pod security
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}}
    assert spec["automountServiceAccountToken"] is False
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts == {"/tmp": "tmp", "/srv/bti/municipalities": "rules"}
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["BTI_MUNICIPALITIES"] == "/srv/bti/municipalities"
    assert [ref["secretRef"]["name"] for ref in container["envFrom"]] == ["bti-access"]
    assert container["envFrom"][0]["secretRef"]["optional"] is (overlay != "production")
    # sized from docs/performance.md: the master and each worker with the bundled guides fit the request
    workers = int(env["BTI_WORKERS"])
    assert _mebibytes(container["resources"]["requests"]["memory"]) >= 26 + workers * 46
    assert _mebibytes(container["resources"]["limits"]["memory"]) >= 2 * _mebibytes(
        container["resources"]["requests"]["memory"])
    assert pod["metadata"]["annotations"] == {"prometheus.io/scrape": "true", "prometheus.io/port": "8080",
                                              "prometheus.io/path": "/metrics"}
    # the Service selects the pods
    selector = objects["Service"]["spec"]["selector"]
    assert selector.items() <= pod["metadata"]["labels"].items()
    if overlay == "production":
        assert objects["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= \
            pod["metadata"]["labels"].items()
        ingress = objects["Ingress"]["metadata"]["annotations"]
        assert ingress["nginx.ingress.kubernetes.io/proxy-body-size"] == "1m"
        assert ingress["nginx.ingress.kubernetes.io/proxy-request-buffering"] == "on"
        assert int(ingress["nginx.ingress.kubernetes.io/proxy-read-timeout"]) > TIMEOUT


def _mebibytes(quantity: str) -> int:
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", quantity).groups()  # type: ignore[union-attr]
    return int(number) * (1024 if unit == "Gi" else 1)


def _materialise(configmap: dict[str, Any], volume: dict[str, Any], target: Path, stamp: str) -> None:
    """Write the ConfigMap as the kubelet does: the files in a timestamped folder, `..data` a link to
    it, and each top-level entry a link through `..data`; an update swaps `..data` at once."""
    data_dir = target / f"..{stamp}"
    for item in volume["items"]:
        path = data_dir / item["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(configmap["data"][item["key"]], encoding="utf-8")
    tmp_link = target / "..data_tmp"
    tmp_link.symlink_to(data_dir.name)
    tmp_link.replace(target / "..data")
    for top in {Path(item["path"]).parts[0] for item in volume["items"]}:
        if not (target / top).is_symlink():
            (target / top).symlink_to(Path("..data") / top)


def _component(municipalities: Path, out: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    _generate(municipalities, out)
    configmap = yaml.safe_load((out / "configmap.yaml").read_text(encoding="utf-8"))
    patch = yaml.safe_load((out / "volume.yaml").read_text(encoding="utf-8"))
    (volume,) = patch["spec"]["template"]["spec"]["volumes"]
    return configmap, volume["configMap"]


def test_the_configmap_gives_back_the_rule_folder_and_an_update_reloads(tmp_path: Path) -> None:
    source = tmp_path / "municipalities"
    shutil.copytree(ROOT / "municipalities", source)
    configmap, volume = _component(source, tmp_path / "component")
    mounted = tmp_path / "mounted"
    mounted.mkdir()
    _materialise(configmap, volume, mounted, "2026_12_01_10_00_00.1")
    assert {g: v.digest for g, v in load_registry(mounted).guides.items()} == \
        {g: v.digest for g, v in load_registry(source).guides.items()}

    store = GuideStore(mounted)
    store.load()
    before = store.get("tromso")
    assert before is not None
    guide = source / "tromso" / "guide.yaml"
    guide.write_text(guide.read_text(encoding="utf-8").replace('version: "2026.1"', 'version: "2026.2"', 1),
                     encoding="utf-8")
    configmap, volume = _component(source, tmp_path / "component")
    time.sleep(0.01)  # a later modification time, as a real update has
    _materialise(configmap, volume, mounted, "2026_12_01_10_05_00.2")
    assert store.check()
    after = store.get("tromso")
    assert after is not None and after.version == "2026.2"
    assert after.digest == load_registry(source).guides["tromso"].digest != before.digest
    assert store.get("loten").digest == load_registry(source).guides["loten"].digest  # type: ignore[union-attr]


def test_a_file_name_a_configmap_cannot_hold_is_refused_with_the_reason(tmp_path: Path) -> None:
    source = tmp_path / "municipalities"
    shutil.copytree(ROOT / "municipalities", source, ignore=shutil.ignore_patterns("scenarios"))
    (source / "national" / "rules" / "lokale_tiltak_før.yaml").write_text("rules: []\n", encoding="utf-8")
    done = _run([sys.executable, str(GENERATOR), str(source), "--out", str(tmp_path / "out")])
    assert done.returncode == 1
    assert "national/rules/lokale_tiltak_før.yaml" in done.stderr and "rename" in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_rule_folder_too_large_for_a_configmap_points_to_git_sync(tmp_path: Path) -> None:
    source = tmp_path / "municipalities"
    shutil.copytree(ROOT / "municipalities", source, ignore=shutil.ignore_patterns("scenarios"))
    (source / "national" / "rules" / "big.yaml").write_text("# " + "x" * (1024 * 1024) + "\n", encoding="utf-8")
    done = _run([sys.executable, str(GENERATOR), str(source), "--out", str(tmp_path / "out")])
    assert done.returncode == 1 and "git-sync" in done.stderr and "docs/deployment.md" in done.stderr


def test_the_image_gets_every_package_the_project_installs() -> None:
    # the i18n package arrived after the Containerfile was written; an image without it fails to start
    import tomllib

    packages = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]
    containerfile = (ROOT / "Containerfile").read_text(encoding="utf-8")
    for package in {name.split(".")[0] for name in packages}:  # a top-level folder brings its subpackages
        assert f"COPY {package} {package}\n" in containerfile, package
        for ignore in (".containerignore", ".dockerignore"):
            assert f"!{package}/\n" in (ROOT / ignore).read_text(encoding="utf-8"), (ignore, package)
    assert (ROOT / ".containerignore").read_text() == (ROOT / ".dockerignore").read_text()
