"""Debian's Chromium driven by Playwright, as a person uses JupyterLab."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

CHROMIUM = Path("/usr/bin/chromium")  # Debian's; scripts/test.sh installs it
# As root, without a sandbox; and no calls home, which this closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Set to a directory (docs/images) to keep the screenshots the README and the docs show.
SCREENSHOTS = os.environ.get("JSB_SCREENSHOTS")


def launch(playwright) -> Browser:
    assert CHROMIUM.exists(), "Chromium is missing: scripts/test.sh installs it"
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def open_lab(
    browser: Browser,
    url: str,
    *,
    cookies: list[dict] | None = None,
    frames: list[str] | None = None,
) -> Page:
    """A new browser context on Lab; ``frames`` collects every websocket frame the page receives."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    if cookies:
        context.add_cookies(cookies)
    page = context.new_page()
    if frames is not None:
        page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(str(f))))
    page.goto(url)
    # The launcher is there once Lab has started and restored its layout: keys work from then on.
    expect(page.locator(".jp-LauncherCard").first).to_be_visible(timeout=60_000)
    return page


def run_command(page: Page, label: str) -> None:
    """Through the command palette, as a person would."""
    page.keyboard.press("Control+Shift+C")
    palette = page.locator(".lm-CommandPalette-input")
    expect(palette).to_be_visible()
    palette.fill(label)
    expect(page.locator(".lm-CommandPalette-item.lm-mod-active")).to_contain_text(label)
    palette.press("Enter")


def screenshot(page: Page, directory: Path, name: str, **options) -> None:
    page.screenshot(path=str(directory / name), **options)
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / name), **options)


def record_texts(page: Page, selector: str) -> None:
    """From now on, keep every text the element shows, however briefly (see :func:`recorded_texts`)."""
    page.evaluate(
        """selector => {
            const node = document.querySelector(selector);
            window.recordedTexts = [node.textContent];
            new MutationObserver(() => window.recordedTexts.push(node.textContent))
                .observe(node, {childList: true, characterData: true, subtree: true});
        }""",
        selector,
    )


def recorded_texts(page: Page) -> list[str]:
    return page.evaluate("window.recordedTexts")
