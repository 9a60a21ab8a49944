"""A decision as a readable text report (``bti explain``): what to do, in order, and why.

Every word of it is in the report's language: headings from the ``pages`` catalogues, labels
from the guide. Codes appear only in brackets, where a rule author looks them up in the rule files.
"""

from __future__ import annotations

from collections.abc import Callable

from i18n import N_, ntext, text
from rules.case import Case
from rules.decision import Decision
from rules.model import Condition, Guide

Describe = Callable[[Condition, Guide, str], str]
"""Puts a rule's condition into plain words in a language (the guide pages' own wording)."""


def explain_report(guide: Guide, case: Case, decision: Decision, lang: str, describe: Describe) -> str:
    catalog = guide.catalog

    def heading(key: str) -> str:
        return text(key, lang) + ":"

    urgent = text(N_("yes") if decision.urgent else N_("no"), lang)
    lines = [f"{guide.name.in_lang(lang)} ({guide.id} {guide.version}, {guide.digest[:19]}…)",
             heading(N_("level")) + f" {decision.level_name}", heading(N_("urgent")) + f" {urgent}",
             "", heading(N_("actors"))]
    for actor in decision.actors:
        role = catalog.roles.get(actor.role)
        lines.append(f"  - {actor.label} ({role.in_lang(lang) if role else actor.role})")
    lines += ["", heading(N_("report_steps"))]
    for i, step in enumerate(decision.steps, 1):
        if step.due_days is None:
            due = ""
        elif step.due_days == 0:
            due = " (" + text("due_today", lang) + ")"
        else:
            due = " (" + ntext("due_within", "due_within_plural", step.due_days, lang) + ")"
        lines.append(f"  {i}. {step.label}{due} [{step.code}]")
        lines.append(f"     {step.text}")
        lines.append(f"     § {'; '.join(step.legal_basis)}")
    if decision.forbidden:
        lines += ["", heading(N_("forbidden"))]
        for f in decision.forbidden:
            lines.append(f"  - {f.label} [{f.code}]: {f.text} (§ {'; '.join(f.legal_basis)})")
    consent = decision.consent
    party = catalog.consent_parties.get(consent.required_from) if consent.required_from else None
    who = party.in_lang(lang) if party else (consent.required_from or text("none", lang))
    given = text(N_("report_consent_given") if consent.satisfied else N_("report_consent_missing"), lang)
    blocks = "" if consent.blocks_level is None else "; " + text("report_blocks_level", lang, n=consent.blocks_level)
    lines += ["", heading(N_("consent")) + f" {who} – {given}{blocks}", "", heading(N_("why"))]
    when, matched = heading(N_("report_when")), text("matched", lang).capitalize() + ":"
    rules = {r.id: r for r in guide.rules}
    for entry in decision.explanation:
        rule = rules[entry.rule]
        lines.append(f"  * {entry.title} [{entry.rule}, {rule.file}:{rule.line}]")
        lines.append(f"    {entry.because}")
        lines.append(f"    {when} {describe(rule.when, guide, lang)}")
        if entry.signals:
            labels = [s.label.in_lang(lang) if (s := catalog.signals.get(code)) else code for code in entry.signals]
            lines.append(f"    {matched} {', '.join(labels)}")
    return "\n".join(lines)
