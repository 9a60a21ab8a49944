"""Make 357 plausible municipal guides (Norway has 357 municipalities) for the scale benchmark.

Each is a variation of the bundled ones: settings within the ranges the rule-file schema and the
national guide allow (youth consent age 15 or 16, a child age range that only narrows the
national one, deadlines, relay log from level 1 or 2; no setting looser than the national one, so
each passes ``bti check``), sometimes local teams with a rule or two that use them, local level names,
local service labels and step texts. The names are made up. They are written into a
target folder beside a copy of the national guide; the same seed gives the same guides.

    python -m load.generate_guides TARGET [--count 357] [--seed 357] [--check]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import unicodedata
from pathlib import Path
from typing import Any

import yaml

from load.results import BUNDLED
from rules.model import NATIONAL

COUNT = 357
PREFIXES = ("Ask", "Bjørk", "Bre", "Dal", "Eid", "Fjell", "Fos", "Gran", "Hol", "Hov", "Lund", "Lyng", "Mo", "Nes",
            "Ny", "Os", "Ran", "Ring", "Rød", "Sand", "Sel", "Skog", "Sol", "Stav", "Sund", "Tind", "Vang", "Vik",
            "Øy", "Ål", "Berg", "Fager", "Lille", "Stor", "Nord", "Sør", "Vest", "Øst")
SUFFIXES = ("dal", "vik", "nes", "berg", "fjord", "sund", "øy", "bygd", "land", "heim", "stad", "ås", "mo", "eid",
            "vang", "strand", "haug", "lia")

LOCAL_TEAMS = {
    "ressursteam": ({"nb": "Ressursteam (skole)", "nn": "Ressursteam (skule)", "en": "Resource team (school)"},
                    False),
    "laeringsmiljoteam": ({"nb": "Læringsmiljøteamet", "nn": "Læringsmiljøteamet", "en": "Learning environment team"},
                          False),
    "oppvekstteam": ({"nb": "Oppvekstteamet", "nn": "Oppvekstteamet", "en": "Childhood team"}, False),
    "familiesenter": ({"nb": "Familiens hus", "nn": "Familiens hus", "en": "Family centre"}, True),
}
LEVEL3_NAMES = ("Stafett", "Helhetlig innsats", "Tverrfaglig team", "Samarbeid i nettverk")
LEVEL2_NAMES = ("Samhandling", "Samarbeid på tvers", "Drøfting i team")


def _id(name: str) -> str:
    folded = name.lower().replace("ø", "o").replace("æ", "ae").replace("å", "a")
    ascii_name = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()
    return "".join(c if c.isalnum() else "_" for c in ascii_name)


def names(count: int, rng: random.Random) -> list[tuple[str, str]]:
    """``count`` made-up municipality names with distinct ids (not those of the bundled guides)."""
    taken = {p.name for p in BUNDLED.iterdir() if p.is_dir()}
    pairs = [(p, s) for p in PREFIXES for s in SUFFIXES]
    rng.shuffle(pairs)
    out: list[tuple[str, str]] = []
    for prefix, suffix in pairs:
        name = prefix + (suffix[1:] if prefix[-1] == suffix[0] else suffix)
        gid = _id(name)
        if gid in taken:
            continue
        taken.add(gid)
        out.append((name, gid))
        if len(out) == count:
            return out
    raise ValueError(f"only {len(out)} names; add prefixes or suffixes")


def _text(nb: str, nn: str | None = None, en: str | None = None) -> dict[str, str]:
    return {"nb": nb, "nn": nn or nb, "en": en or nb}


def _team_rule(team: str, reporters: list[str]) -> dict[str, Any]:
    label = LOCAL_TEAMS[team][0]
    return {
        "id": f"{team}_level_1",
        "title": _text(f"Drøft med {label['nb'].lower()}", f"Drøft med {label['nn'].lower()}",
                       f"Consult the {label['en'].lower()}"),
        "because": _text("På nivå 1 kan tjenesten drøfte saken i kommunens eget team; det er tiltak i egen tjeneste.",
                         "På nivå 1 kan tenesta drøfte saka i kommunen sitt eige team; det er tiltak i eiga teneste.",
                         "At level 1 the service may consult the municipality's own team; it is still action "
                         "within its own service."),
        "when": {"decision.level": 1, "reporter.service": reporters[0] if len(reporters) == 1 else
                 {"one_of": reporters}, "decision.urgent": False, "decision.parents_suspected": False},
        "then": {"actors": [{"service": team, "role": "consult"}]},
    }


def _routing_rule(team: str, signal: str) -> dict[str, Any]:
    return {
        "id": f"{team}_{signal}",
        "title": _text(f"{signal}: lokalt team", en=f"{signal}: local team"),
        "because": _text("Kommunen involverer sitt eget team i slike saker.",
                         "Kommunen involverer sitt eige team i slike saker.",
                         "The municipality involves its own team in such cases."),
        "when": {"decision.level": {"at_least": 2}, "signal": signal},
        "then": {"actors": [{"service": team, "role": "involve"}]},
    }


def guide(name: str, gid: str, rng: random.Random) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(guide.yaml, rules/local.yaml or None) for one made-up municipality."""
    settings: dict[str, Any] = {
        "youth_consent_age": rng.choice((15, 16)),
        "relay_log_from_level": rng.choice((1, 2, 2)),
        "services_for_level_3": 2,  # the national value: no guide may ask for more services
    }
    if rng.random() < 0.3:
        settings["child_age"] = {"min": 0, "max": rng.choice((18, 20, 23))}
    for key, choices in (("level0_decision_days", (7, 14, 21, 30)), ("level2_meeting_days", (14, 21, 30)),
                         ("evaluation_interval_days", (42, 56, 90))):
        if rng.random() < 0.5:
            settings[key] = rng.choice(choices)
    head: dict[str, Any] = {
        "id": gid,
        "name": _text(f"{name} kommune", f"{name} kommune", f"{name} municipality"),
        "version": f"2026.{rng.randint(1, 4)}",
        "extends": NATIONAL,
        "settings": settings,
    }
    if rng.random() < 0.4:
        level = rng.choice((2, 3))
        local = rng.choice(LEVEL3_NAMES if level == 3 else LEVEL2_NAMES)
        head["level_names"] = {level: _text(f"Nivå {level} – {local}", f"Nivå {level} – {local}",
                                            f"Level {level} – {local}")}
    if rng.random() < 0.2:
        head["service_labels"] = {"family_team": _text("Familieteamet", "Familieteamet", "Family team")}
    if rng.random() < 0.2:
        head["step_texts"] = {"consider_individual_plan": {"text": _text(
            "Vurder sammen med familien om det trengs en individuell plan. Når barnet får individuell plan, "
            "tar planen over: avslutt stafettloggen.",
            "Vurder saman med familien om det trengst ein individuell plan. Når barnet får individuell plan, "
            "tek planen over: avslutt stafettloggen.",
            "Consider with the family whether an individual plan is needed. When the child gets one, the plan "
            "takes over: close the relay log.")}}
    teams = rng.sample(sorted(LOCAL_TEAMS), k=rng.choice((0, 0, 1, 1, 2)))
    rules: list[dict[str, Any]] = []
    if teams:
        head["local_services"] = {t: {"label": LOCAL_TEAMS[t][0], "health": LOCAL_TEAMS[t][1]} for t in teams}
        school_team = next((t for t in teams if not LOCAL_TEAMS[t][1]), None)
        if school_team:
            rules.append(_team_rule(school_team, rng.choice((["school"], ["school", "upper_secondary"]))))
        if rng.random() < 0.5:
            rules.append(_routing_rule(teams[-1], rng.choice(("bullying", "school_absence", "loneliness"))))
    if not rules:
        return head, None
    rule_file = {"group": f"{gid}_local", "title": _text(f"{name}: lokale regler", f"{name}: lokale reglar",
                                                         f"{name}: local rules"), "rules": rules}
    return head, rule_file


def _dump(path: Path, data: dict[str, Any], comment: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=120)
    path.write_text(f"# {comment}\n{text}", encoding="utf-8")


def generate(target: Path, count: int = COUNT, seed: int = COUNT, source: Path = BUNDLED) -> list[str]:
    """Write ``count`` guides and a copy of the national one into ``target`` (emptied first)."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    national = source / NATIONAL
    shutil.copytree(national, target / NATIONAL, ignore=shutil.ignore_patterns("scenarios", "*.md"))
    rng = random.Random(seed)
    ids = []
    for name, gid in names(count, rng):
        head, rule_file = guide(name, gid, rng)
        note = "GENERATED for load tests (load/generate_guides.py): a made-up municipality, not a real guide."
        _dump(target / gid / "guide.yaml", head, note)
        if rule_file:
            _dump(target / gid / "rules" / "local.yaml", rule_file, note)
        ids.append(gid)
    return ids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", type=Path, help="folder to write (emptied first)")
    parser.add_argument("--count", type=int, default=COUNT)
    parser.add_argument("--seed", type=int, default=COUNT)
    parser.add_argument("--check", action="store_true", help="load them all and report any that fail")
    args = parser.parse_args(argv)
    ids = generate(args.target, args.count, args.seed)
    print(f"{len(ids)} guides and national written to {args.target}")
    if args.check:
        from rules.loader import load_registry

        registry = load_registry(args.target)
        for gid, error in sorted(registry.errors.items()):
            print(f"{gid}: {error}")
        print(f"{len(registry.guides)} loaded, {len(registry.errors)} failed")
        return 1 if registry.errors else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
