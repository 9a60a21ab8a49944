"""A decision as a readable text report (``bti explain``): what to do, in order, and why."""

from __future__ import annotations

from rules.case import Case
from rules.decision import Decision
from rules.describe import describe_condition
from rules.model import Guide

_HEADINGS = {
    "nb": ("Nivå", "Haster", "Aktører", "Tiltak", "Ikke tillatt", "Samtykke", "Hvorfor", "ja", "nei", "frist", "dager"),
    "nn": ("Nivå", "Hastar", "Aktørar", "Tiltak", "Ikkje tillate", "Samtykke", "Kvifor", "ja", "nei", "frist", "dagar"),
    "en": ("Level", "Urgent", "Actors", "Steps", "Forbidden", "Consent", "Why", "yes", "no", "due", "days"),
}


def explain_report(guide: Guide, case: Case, decision: Decision, lang: str = "nb") -> str:
    h = _HEADINGS.get(lang, _HEADINGS["en"])
    lines = [f"{guide.name.in_lang(lang)} ({guide.id} {guide.version}, {guide.digest[:19]}…)",
             f"{h[0]}: {decision.level_name}", f"{h[1]}: {h[7] if decision.urgent else h[8]}", "", f"{h[2]}:"]
    lines += [f"  - {a.label} [{a.service}, {a.role}]" for a in decision.actors]
    lines += ["", f"{h[3]}:"]
    for i, step in enumerate(decision.steps, 1):
        due = f" ({h[9]}: {step.due_days} {h[10]})" if step.due_days is not None else ""
        lines.append(f"  {i}. {step.label}{due} [{step.code}]")
        lines.append(f"     {step.text}")
        lines.append(f"     § {'; '.join(step.legal_basis)}")
    if decision.forbidden:
        lines += ["", f"{h[4]}:"]
        for f in decision.forbidden:
            lines.append(f"  - {f.label} [{f.code}]: {f.text} (§ {'; '.join(f.legal_basis)})")
    c = decision.consent
    lines += ["", f"{h[5]}: {c.required_from} – {'satisfied' if c.satisfied else 'not given'}"
              + (f"; blocks level {c.blocks_level}" if c.blocks_level is not None else "")]
    lines += ["", f"{h[6]}:"]
    rules = {r.id: r for r in guide.rules}
    for entry in decision.explanation:
        rule = rules[entry.rule]
        lines.append(f"  * {entry.title} [{entry.rule}, {rule.file}:{rule.line}]")
        lines.append(f"    {entry.because}")
        lines.append(f"    when: {describe_condition(rule.when)}")
        if entry.signals:
            lines.append(f"    matched: {', '.join(entry.signals)}")
    return "\n".join(lines)
