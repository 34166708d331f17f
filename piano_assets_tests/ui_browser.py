"""Drive the real Dagster UI in headless Chromium (Playwright), for the browser tests.

The browser is the system's Chromium (Debian package `chromium`, /usr/bin/chromium): Playwright
never downloads one. Where it is missing, `browser_unavailable_reason()` says why, and the
browser tests skip with that reason. Install it with `apt-get install -y chromium`.

`DagsterUI` wraps a page with the few gestures an ML engineer makes: open the asset graph of a
group, press Materialize, pick partitions in the launch dialog and launch a backfill, open an
asset's checks. It dismisses the "Join the Dagster community" dialog whenever it covers the
page, and saves screenshots under `test-artifacts/` (git-ignored).
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from piano_assets_tests.dagster_server import REPO_ROOT

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

CHROMIUM_PATH = Path(os.environ.get("PIANO_ASSETS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = (
    "--no-sandbox",  # CI containers run as root
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
ARTIFACTS_DIR = Path(os.environ.get("PIANO_ASSETS_TEST_ARTIFACTS", REPO_ROOT / "test-artifacts"))
INSTALL_HINT = "apt-get update && apt-get install -y chromium"
_BACKFILL_TOAST = re.compile(r"Created backfill\s+(\w+)")


def browser_unavailable_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install -e '.[dev]')"
    if not CHROMIUM_PATH.exists():
        return f"no Chromium at {CHROMIUM_PATH}: install it with `{INSTALL_HINT}`"
    return None


@contextmanager
def chromium_page(width: int = 1400, height: int = 900) -> Iterator[Page]:
    """A page of a fresh headless Chromium, closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM_PATH), args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            page = browser.new_context(viewport={"width": width, "height": height}).new_page()
            page.set_default_timeout(30_000)
            yield page
        finally:
            browser.close()


class DagsterUI:
    """The Dagster UI at `base_url`, seen through `page`."""

    def __init__(self, page: Page, base_url: str, artifacts_dir: Path) -> None:
        self.page = page
        self.base_url = base_url.rstrip("/")
        self.artifacts_dir = artifacts_dir
        self.community_dialogs_skipped = 0
        community_dialog = page.get_by_role("dialog").filter(has_text="Join the Dagster community")
        # The dialog shows on a first visit, whenever its query returns; Playwright runs this
        # handler before any action the dialog would block.
        page.add_locator_handler(community_dialog, self._skip_community_dialog)

    def _skip_community_dialog(self, dialog: Locator) -> None:
        dialog.get_by_role("button", name="Skip").click()
        self.community_dialogs_skipped += 1

    # -- navigation -----------------------------------------------------------------------------
    def open(self, path: str) -> None:
        self.page.goto(f"{self.base_url}{path}")

    def open_global_lineage(self) -> None:
        self.open("/asset-groups")
        self.page.get_by_text("Global asset lineage").wait_for()

    def open_asset_group(self, location: str, group: str) -> None:
        self.open(f"/locations/{quote(location)}/asset-groups/{quote(group)}")
        self.page.get_by_text("Asset Group in").wait_for()
        self.page.get_by_text(group, exact=True).first.wait_for()

    def open_asset_checks(self, asset_key: str) -> None:
        self.open(f"/assets/{asset_key}?view=checks")
        self.page.get_by_text(re.compile(r"Checks \(\d+\)")).wait_for()

    def open_backfill(self, backfill_id: str) -> None:
        self.open(f"/runs/b/{backfill_id}")
        self.page.get_by_text(backfill_id).first.wait_for()

    # -- gestures -------------------------------------------------------------------------------
    def node(self, asset_name: str) -> Locator:
        """An asset's node in the graph (its card, holding name, checks and status rows)."""
        name = self.page.get_by_text(asset_name, exact=True).first
        return name.locator("xpath=ancestor::*[.//*[text()='Asset checks']][1]")

    def click_materialize(self) -> None:
        # The button's accessible name carries an icon, so match it by text.
        self.page.locator("button:has-text('Materialize')").first.click()

    def launch_backfill(self, partition_keys: Sequence[str]) -> str:
        """In the open launch dialog, pick exactly `partition_keys` and launch; return the id."""
        page = self.page
        dialog = page.get_by_role("dialog").filter(has_text="Launch runs to materialize")
        dialog.wait_for()
        dialog.get_by_role("button", name="Custom").click()
        picker_target = dialog.locator("[aria-haspopup='dialog']").first
        picker_target.click()
        picker = page.locator(f"[id='{picker_target.get_attribute('aria-controls')}']")
        search = picker.get_by_placeholder("Filter partitions")
        search.wait_for()
        # The dialog may preselect some partitions: "Select all" twice clears any selection.
        select_all = self._picker_row(picker, page.get_by_text(re.compile(r"^Select all")))
        for _ in range(2):
            if select_all.locator("input").is_checked():
                break
            select_all.locator("label").click()
        select_all.locator("label").click()
        dialog.get_by_text("0 partitions", exact=True).wait_for()
        for key in partition_keys:
            search.fill(key)
            row = self._picker_row(picker, page.locator(f"[title='{key}']"))
            row.locator("label").click()
            if not row.locator("input").is_checked():
                raise AssertionError(f"partition {key} did not get selected")
        search.fill("")
        dialog.get_by_text("Launch runs to materialize").click()  # closes the picker
        search.wait_for(state="hidden")
        dialog.get_by_text(f"{len(partition_keys)} partitions", exact=True).wait_for()
        self.screenshot("backfill_dialog")
        dialog.get_by_role("button", name="Launch backfill").click()
        toast = page.get_by_text(_BACKFILL_TOAST)
        toast.wait_for()
        match = _BACKFILL_TOAST.search(toast.inner_text())
        if match is None:
            raise AssertionError(f"no backfill id in the toast {toast.inner_text()!r}")
        return match.group(1)

    def _picker_row(self, picker: Locator, label: Locator) -> Locator:
        """The innermost row of the partition picker that holds `label` and a checkbox."""
        checkbox = self.page.locator("label:has(input[type='checkbox'])")
        return picker.locator("div").filter(has=label).filter(has=checkbox).last

    @contextmanager
    def screenshot_on_failure(self, name: str = "failure") -> Iterator[None]:
        """Keep a picture of the page when the block fails (the artifact to look at in CI)."""
        try:
            yield
        except BaseException:
            with suppress(Exception):  # the page may be gone; the original error matters
                self.screenshot(name)
            raise

    def screenshot(self, name: str) -> Path:
        self.artifacts_dir.mkdir(parents=True, exist_ok=True)
        path = self.artifacts_dir / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path
