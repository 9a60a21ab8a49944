"""How tall each guide page is in Chromium (1280×900, bokmål), with a full-page and a first-screen
screenshot of each: ``python -m load.page_heights [--out DIR] [guide ...]`` (national and loten by
default). Needs Chromium (``BTI_CHROMIUM``, default /usr/bin/chromium) and playwright, as the
browser tests do."""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import threading
from pathlib import Path

from werkzeug.serving import make_server

from load.results import BUNDLED
from service.app import create_app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("guides", nargs="*", default=["national", "loten"])
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "bti-page-heights")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    app = create_app({"TESTING": True, "BTI_MUNICIPALITIES": str(BUNDLED)})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=os.environ.get("BTI_CHROMIUM", "/usr/bin/chromium"),
                args=["--no-sandbox", "--disable-gpu"], headless=True)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            for guide in args.guides:
                page.goto(f"http://127.0.0.1:{server.server_port}/municipalities/{guide}?lang=nb")
                height = page.evaluate("() => document.documentElement.scrollHeight")
                whole, first = args.out / f"{guide}.jpg", args.out / f"{guide}-first-screen.png"
                page.screenshot(path=str(whole), full_page=True, type="jpeg", quality=60)
                page.screenshot(path=str(first))
                print(f"{guide}: {height:,} px  {whole}  {first}")
            browser.close()
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
