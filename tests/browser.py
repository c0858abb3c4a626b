"""Browser tests: Playwright driving Debian's Chromium against a live server, checked with axe-core.

Why these pieces: Playwright's Python package drives an installed Chromium (it never downloads a
browser here); axe-core is the accessibility engine browsers' own tools use, installed from npm by
`make test` (BROWSER_DEPS). Without Chromium the browser tests are skipped with the reason printed;
`.ci/run` installs it, so CI always runs them.

Screenshots and other artifacts go to TEST_ARTIFACTS (default `test-artifacts/`, gitignored); the
run prints where.
"""

import os
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE_JS = Path(os.environ.get("AXE_CORE_JS", ROOT / ".venv" / "axe" / "node_modules" / "axe-core" / "axe.min.js"))
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", ROOT / "test-artifacts"))
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


def chromium_missing_reason() -> str | None:
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        return f"Chromium not found at {CHROMIUM} (apt-get install -y chromium); browser tests skipped"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (make install); browser tests skipped"
    return None


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the session (per xdist worker)."""
    reason = chromium_missing_reason()
    if reason:
        pytest.skip(reason)
    # Playwright's sync API runs an event loop in this thread; the tests also use the ORM here.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _page(chromium, viewport: dict):
    context = chromium.new_context(viewport=viewport, locale="en-US", timezone_id="America/New_York")
    context.set_default_timeout(15_000)
    page = context.new_page()
    return context, page


@pytest.fixture
def page(chromium):
    """A fresh browser page at 1280 px wide (its own cookies)."""
    context, page = _page(chromium, DESKTOP)
    yield page
    context.close()


@pytest.fixture
def phone_page(chromium):
    """A fresh browser page at 375 px wide, as on a phone."""
    context, page = _page(chromium, PHONE)
    yield page
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def screenshot(page, artifacts: Path, name: str) -> Path:
    """Save a full-page screenshot as `<artifacts>/<name>.png` and return its path."""
    path = artifacts / f"{re.sub(r'[^a-zA-Z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page, *, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict]:
    """axe-core's violations of the page as it is now, of the given impacts (id, impact, help, nodes)."""
    if not AXE_JS.exists():
        pytest.fail(f"axe-core not found at {AXE_JS}: `make test` installs it with npm (or set AXE_CORE_JS)")
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "nodes": [node["target"] for node in violation["nodes"]],
        }
        for violation in result["violations"]
        if violation["impact"] in impacts
    ]
