"""JupyterLab's Spark panel and status item, in a real browser (Debian's Chromium with Playwright),
against a real Jupyter server with the broker and a real local Livy (plain Python: no Spark needed).

Live means without a reload: what the panel shows comes from the broker's events on jupyter_server's
bus, through JupyterLab's own event manager.
"""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.lab.browser import (
    launch,
    open_lab,
    record_texts,
    recorded_texts,
    run_command,
    screenshot,
)
from tests.lab.users import USER_COOKIE
from tests.live_server import LiveJupyter

LIVE = 2_000  # ms: a change anywhere shows in the panel within this, without a reload
START = 60_000  # ms: a plain-Python session starting on the local Livy
PANEL = "#spark-broker-panel"
STATUS = "#spark-broker-status"


def session_item(page: Page, session_id: str):
    return page.locator(f'{PANEL} [data-spark-session-id="{session_id}"]')


def open_panel(page: Page) -> None:
    run_command(page, "Show the Spark panel")
    expect(page.locator(PANEL)).to_be_visible()
    expect(page.locator(PANEL)).not_to_contain_text("Loading")


def create_session(server: LiveJupyter, headers: dict[str, str], **body) -> dict:
    reply = httpx.post(
        f"{server.url}/spark-broker/api/sessions", headers=headers, json=body, timeout=60
    )
    assert reply.status_code == 201, reply.text
    return reply.json()


@pytest.fixture
def browser():
    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


def test_a_session_created_through_the_api_appears_live_and_a_kill_from_the_panel_ends_it_in_livy(
    tmp_path, livy_url, browser
):
    with LiveJupyter(tmp_path, livy_url) as server:
        page = open_lab(browser, f"{server.url}/lab?token={server.token}")
        try:
            open_panel(page)
            expect(page.locator(PANEL)).to_contain_text("No live sessions")

            session = create_session(server, server.headers)
            item = session_item(page, session["id"])
            expect(item).to_be_visible(timeout=LIVE)  # no reload, no polling: the created event
            expect(item).to_have_attribute("data-state", "idle", timeout=START)
            expect(item).to_contain_text("live")  # its endpoint's name
            screenshot(page, tmp_path, "spark-panel.png", clip=_sidebar(page))

            item.locator('[data-action="kill"]').click()
            dialog = page.locator(".jp-Dialog")
            expect(dialog).to_contain_text("Kill")
            dialog.locator("button.jp-mod-accept").click()
            expect(item).to_have_count(0, timeout=LIVE)

            livy_id = session["livy_id"]
            assert httpx.get(f"{livy_url}/sessions/{livy_id}").status_code == 404
            reply = httpx.get(
                f"{server.url}/spark-broker/api/sessions/{session['id']}", headers=server.headers
            )
            assert reply.json()["state"] == "killed"
        except Exception:
            page.screenshot(path=str(tmp_path / "failure.png"))
            raise


def test_the_status_item_follows_a_running_cell(tmp_path, livy_url, browser):
    with LiveJupyter(tmp_path, livy_url) as server:
        page = open_lab(browser, f"{server.url}/lab?token={server.token}")
        try:
            page.locator(".jp-LauncherCard", has_text="PySpark (broker)").first.click()
            expect(
                page.locator(".jp-StatusBar-TextItem", has_text="PySpark (broker) | Idle")
            ).to_be_visible(timeout=START)
            status = page.locator(STATUS)
            expect(status).to_have_text("Spark: –")
            record_texts(page, STATUS)
            open_panel(page)

            run_cell(page, 0, "import time\ntime.sleep(3)\n'slept'")
            expect(status).to_have_text(re.compile(r"Spark: busy"), timeout=START)
            expect(page.locator(".jp-OutputArea").first).to_contain_text("slept", timeout=START)
            expect(status).to_have_text("Spark: idle", timeout=LIVE)
            texts = recorded_texts(page)
            assert any(re.fullmatch(r"Spark: starting \(\d+ s\)", t) for t in texts), texts
            busy = [i for i, text in enumerate(texts) if text.startswith("Spark: busy")]
            assert busy and busy[-1] < len(texts) - 1, texts  # busy, then idle again

            # The panel's top shows this notebook's session.
            current = page.locator(f"{PANEL} .jsb-Panel-current")
            expect(current).to_contain_text("Untitled.ipynb")
            expect(current).to_contain_text("idle")
            screenshot(page, tmp_path, "spark-panel-notebook.png")

            # Switch the notebook to a named session from the panel (its kernel follows), and back.
            own = current.locator("[data-current-session-id]").get_attribute(
                "data-current-session-id"
            )
            team = create_session(server, server.headers, name="team")
            expect(session_item(page, team["id"])).to_have_attribute(
                "data-state", "idle", timeout=START
            )
            current.locator("input[name=session-name]").fill("team")
            current.locator("[data-action=attach-named]").click()
            notice = page.locator(f"{PANEL} [role=status]")
            expect(notice).to_contain_text("Attached to the Spark session")
            expect(notice).to_contain_text("'team'")
            facts = current.locator("[data-current-session-id]")
            expect(facts).to_have_attribute("data-current-session-id", team["id"], timeout=LIVE)
            expect(facts).to_contain_text("Nameteam")
            run_cell(page, 1, "'in the team session'")
            expect(page.locator(".jp-OutputArea").nth(1)).to_contain_text("in the team session")
            team_item = session_item(page, team["id"])
            expect(team_item).to_contain_text("Untitled.ipynb")
            expect(team_item.locator(".jsb-Session-name")).to_have_text("team")

            # The kill dialog names the session and the notebooks that lose it; cancelled, nothing ends.
            team_item.locator('[data-action="kill"]').click()
            dialog = page.locator(".jp-Dialog")
            expect(dialog).to_contain_text('Kill the session "team"')
            expect(dialog).to_contain_text("This notebook loses its Spark session: Untitled.ipynb.")
            dialog.locator("button.jp-mod-reject").click()
            expect(dialog).to_have_count(0)
            expect(team_item).to_have_attribute("data-state", "idle")

            # A name nobody holds starts nothing: the panel says how to create it.
            live_before = len(page.locator(f"{PANEL} [data-spark-session-id]").all())
            current.locator("input[name=session-name]").fill("teem")
            current.locator("[data-action=attach-named]").click()
            alert = page.locator(f"{PANEL} .jsb-Panel-messages [role=alert]")
            expect(alert).to_contain_text("no live Spark session is named 'teem'")
            expect(alert).to_contain_text("%spark attach --create teem")
            expect(facts).to_have_attribute("data-current-session-id", team["id"])
            expect(page.locator(f"{PANEL} [data-spark-session-id]")).to_have_count(live_before)
            page.locator(f"{PANEL} [data-action=dismiss]").click()

            # Created from the panel: its notice ends on "Spark ready", never a stale start-up line.
            current.locator("input[name=session-name]").fill("fresh")
            current.locator("input[name=create-session]").check()
            current.locator("[data-action=attach-named]").click()
            expect(notice).to_contain_text("Spark ready", timeout=START)
            expect(notice).to_contain_text("Starting a new Spark session")
            expect(notice).not_to_contain_text("Starting Spark (")
            expect(facts).to_contain_text("Namefresh", timeout=LIVE)
            fresh = facts.get_attribute("data-current-session-id")
            expect(session_item(page, fresh).locator(".jsb-Session-name")).to_have_text("fresh")
            expect(team_item).to_contain_text("no notebook", timeout=LIVE)

            # Detached, the notebook leaves the fresh session; its next Spark cell runs in its own
            # session again, the one it had before the switches.
            current.locator("[data-action=detach]").click()
            expect(session_item(page, fresh)).to_contain_text("no notebook", timeout=LIVE)
            run_cell(page, 2, "'own again'")
            expect(page.locator(".jp-OutputArea").nth(2)).to_contain_text(
                "own again", timeout=START
            )
            expect(facts).to_have_attribute("data-current-session-id", own, timeout=LIVE)
        except Exception:
            page.screenshot(path=str(tmp_path / "failure.png"))
            raise


def run_cell(page: Page, index: int, code: str) -> None:
    editor = page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".cm-content")
    editor.click()
    page.keyboard.type(code)
    expect(editor).to_contain_text(code.splitlines()[-1])
    page.keyboard.press("Shift+Enter")


def test_each_user_sees_only_their_own_sessions_and_an_admin_sees_all(tmp_path, livy_url, browser):
    provider = {"identity_provider_class": "tests.lab.users.CookieOrTokenUsers"}
    with LiveJupyter(
        tmp_path, livy_url, server_config=provider, admin_users=["root-admin"]
    ) as server:

        def as_user(name: str) -> dict[str, str]:
            return {"Authorization": f"token {name}"}

        def lab_of(name: str, frames: list[str] | None = None) -> Page:
            cookie = {"name": USER_COOKIE, "value": name, "url": server.url}
            page = open_lab(browser, f"{server.url}/lab", cookies=[cookie], frames=frames)
            open_panel(page)
            return page

        alices = create_session(server, as_user("alice"))
        bobs = create_session(server, as_user("bob"))
        # Every websocket frame bob's browser receives, to show that none of alice's events reach it.
        bob_frames: list[str] = []
        bob, admin = lab_of("bob", bob_frames), lab_of("root-admin")
        try:
            expect(session_item(bob, bobs["id"])).to_be_visible()
            expect(session_item(bob, alices["id"])).to_have_count(0)
            expect(bob.locator(f"{PANEL} [data-action=all-users]")).to_have_count(0)

            expect(admin.locator(PANEL)).to_contain_text("No live sessions")  # their own: none
            admin.locator(f"{PANEL} [data-action=all-users]").check()
            expect(session_item(admin, alices["id"])).to_be_visible(timeout=LIVE)
            expect(session_item(admin, bobs["id"])).to_be_visible()

            # Live, and scoped: alice's new session reaches the admin's panel, never bob's.
            another = create_session(server, as_user("alice"))
            expect(session_item(admin, another["id"])).to_be_visible(timeout=LIVE)
            expect(
                admin.locator(f'{PANEL} [data-spark-session-id="{another["id"]}"]')
            ).to_contain_text("owner alice")
            screenshot(admin, tmp_path, "spark-panel-admin.png", clip=_sidebar(admin))
            assert any("subscribed/v1" in frame for frame in bob_frames), bob_frames
            for frame in bob_frames:
                assert alices["id"] not in frame and another["id"] not in frame, frame
            expect(session_item(bob, another["id"])).to_have_count(0)
        except Exception:
            bob.screenshot(path=str(tmp_path / "failure-bob.png"))
            admin.screenshot(path=str(tmp_path / "failure-admin.png"))
            raise


def _sidebar(page: Page) -> dict:
    box = page.locator(PANEL).bounding_box()
    assert box is not None
    return {"x": 0, "y": 0, "width": box["x"] + box["width"] + 8, "height": 900}


def test_a_livy_failure_shows_in_the_panel_with_what_to_do(tmp_path, start_local_livy, browser):
    livy = start_local_livy("--spark", "off")
    with LiveJupyter(tmp_path, livy.url, livy_retries=0, livy_connect_timeout=2) as server:
        page = open_lab(browser, f"{server.url}/lab?token={server.token}")
        try:
            open_panel(page)
            session = create_session(server, server.headers)
            item = session_item(page, session["id"])
            expect(item).to_have_attribute("data-state", "idle", timeout=START)

            livy.stop()
            item.locator('[data-action="kill"]').click()
            page.locator(".jp-Dialog button.jp-mod-accept").click()
            error = page.locator(f"{PANEL} [role=alert]")
            expect(error).to_contain_text("Livy unreachable", timeout=30_000)
            expect(error).to_contain_text("live")  # names the endpoint
            expect(item).to_be_visible()  # not killed: it may still live in Livy
            # It stays (the lists refreshing meanwhile do not clear it) until dismissed.
            expect(item).to_have_attribute("data-state", "idle")
            screenshot(page, tmp_path, "spark-panel-error.png", clip=_sidebar(page))
            expect(error).to_contain_text("Livy unreachable")
            error.locator("[data-action=dismiss]").click()
            expect(error).to_have_count(0)
        except Exception:
            page.screenshot(path=str(tmp_path / "failure.png"))
            raise
