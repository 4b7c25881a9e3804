"""A person's path through JupyterLab, in a real browser (headless Chromium driven by Playwright):
open Lab, pick "PySpark (broker)" in the launcher, run a Spark cell, restart the kernel from the Kernel
menu, and find the Spark state still there; the status bar shows a Spark job's progress."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.lab.browser import CHROMIUM, CHROMIUM_ARGS, record_texts, recorded_texts
from tests.live_server import LiveJupyter

pytestmark = pytest.mark.spark

SPARK_START = 300_000  # ms: a cell that starts a Spark session


def test_pyspark_broker_kernel_keeps_spark_state_across_a_restart_in_jupyterlab(
    tmp_path, spark_livy_url
):
    assert CHROMIUM.exists(), "Chromium is missing: scripts/test.sh installs it"
    # As scripts/run.sh starts it: kernel websockets without Nagle's delay.
    no_delay = {
        "kernel_websocket_connection_class": "jupyter_spark_broker.websocket.NoDelayKernelConnection"
    }
    with (
        LiveJupyter(tmp_path, spark_livy_url, server_config=no_delay) as server,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        try:
            page.goto(f"{server.url}/lab?token={server.token}")
            page.locator(".jp-LauncherCard", has_text="PySpark (broker)").first.click()
            cells = page.locator(".jp-Notebook .jp-Cell")
            kernel_idle = page.locator(".jp-StatusBar-TextItem", has_text="PySpark (broker) | Idle")

            def run(index: int, code: str) -> None:
                editor = cells.nth(index).locator(".cm-content")
                editor.click()
                page.keyboard.type(code)
                expect(editor).to_contain_text(code.splitlines()[-1])
                page.keyboard.press("Shift+Enter")

            expect(kernel_idle).to_be_visible(timeout=60_000)

            run(0, "df = spark.range(1000)\nkept = df.count() * 2\nkept")
            first = cells.nth(0).locator(".jp-OutputArea")
            expect(first).to_contain_text("Starting a new Spark session", timeout=SPARK_START)
            expect(first).to_contain_text("2000", timeout=SPARK_START)

            page.get_by_role("menuitem", name="Kernel").click()
            page.get_by_text("Restart Kernel…").first.click()
            page.locator(".jp-Dialog button.jp-mod-accept").click()
            expect(kernel_idle).to_be_visible(timeout=60_000)

            run(1, "kept + 1")
            second = cells.nth(1)
            expect(second.locator(".jp-OutputArea")).to_contain_text("2001", timeout=120_000)
            expect(second.locator(".jp-OutputArea")).to_contain_text(
                "Attached to the Spark session"
            )
            # A fresh kernel (its first execution), and still the Spark state from before.
            expect(second.locator(".jp-InputPrompt")).to_contain_text("[1]")

            # A job of many tasks: the status bar follows its progress, then says idle again.
            status = page.locator("#spark-broker-status")
            expect(status).to_have_text("Spark: idle")
            record_texts(page, "#spark-broker-status")
            run(
                2,
                "import time\nsc.parallelize(range(40), 40).map(lambda x: time.sleep(0.2) or x).sum()",
            )
            expect(cells.nth(2).locator(".jp-OutputArea")).to_contain_text("780", timeout=120_000)
            expect(status).to_have_text("Spark: idle", timeout=5_000)
            texts = recorded_texts(page)
            assert any(re.fullmatch(r"Spark: busy ([1-9]\d?)%", t) for t in texts), texts
        except Exception:
            page.screenshot(path=str(tmp_path / "jupyterlab.png"))  # what the person would see
            raise
        finally:
            browser.close()
