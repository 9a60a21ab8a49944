"""The landing page is for employees: each guide's version and date in plain sight, the sha256
digest folded away for those who check it."""

from __future__ import annotations

from html.parser import HTMLParser

from flask.testing import FlaskClient

from rules.loader import Registry


class _Visible(HTMLParser):
    """The text of the page outside closed <details> (apart from their <summary>)."""

    def __init__(self) -> None:
        super().__init__()
        self.visible: list[str] = []
        self.folded: list[str] = []
        self._details = 0
        self._summary = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "details" and not any(name == "open" for name, _ in attrs):
            self._details += 1
        elif tag == "summary":
            self._summary += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "details" and self._details:
            self._details -= 1
        elif tag == "summary" and self._summary:
            self._summary -= 1

    def handle_data(self, data: str) -> None:
        (self.folded if self._details and not self._summary else self.visible).append(data)


def test_the_index_shows_version_and_date_and_folds_the_digest(client: FlaskClient, registry: Registry) -> None:
    html = client.get("/?lang=en").get_data(as_text=True)
    page = _Visible()
    page.feed(html)
    visible, folded = " ".join(page.visible), " ".join(page.folded)
    for guide in registry.guides.values():
        assert guide.digest not in visible, "the full digest is shown to every employee"
        assert guide.digest in folded, "the digest is kept for those who look for it"
        assert guide.version in visible
    assert "Date" in visible
    dated = [g for g in registry.guides.values() if g.date]
    for guide in dated:
        assert f'<time datetime="{guide.date}">{guide.date}</time>' in html
