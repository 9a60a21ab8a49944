"""Scenario outcomes as JUnit XML, for CI systems."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from xml.etree import ElementTree as ET

from toolkit.scenarios import Outcome, describe


def junit_xml(outcomes: Iterable[Outcome], name: str = "bti scenarios") -> str:
    by_file: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_file[outcome.scenario.file].append(outcome)
    root = ET.Element("testsuites", name=name)
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for file, items in sorted(by_file.items()):
        failures = sum(o.status == "failed" for o in items)
        skipped = sum(o.status == "todo" for o in items)
        suite = ET.SubElement(root, "testsuite", name=file, tests=str(len(items)), failures=str(failures),
                              errors="0", skipped=str(skipped))
        for o in items:
            s = o.scenario
            case = ET.SubElement(suite, "testcase", classname=f"{s.guide}.{file}", name=f"line {s.line}: {s.note}",
                                 file=file, line=str(s.line))
            if o.status == "todo":
                ET.SubElement(case, "skipped", message=f"todo: {s.todo}")
            elif o.status == "failed":
                keys = ", ".join(k for k, _, _ in o.mismatches)
                failure = ET.SubElement(case, "failure", message=f"differs in: {keys}", type="ScenarioMismatch")
                failure.text = describe(o)
        totals["tests"] += len(items)
        totals["failures"] += failures
        totals["skipped"] += skipped
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("errors", "0")
    return ET.tostring(root, encoding="unicode", xml_declaration=True)
