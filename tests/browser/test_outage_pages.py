"""What a browser shows when no release answers: the traffic switch's own pages, served
from files, with every application process gone. Real Caddy, real Chromium."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from jobnaut.ops import pages
from jobnaut.ops.caddy import CaddySwitch, SwitchSettings, Timeouts
from tests.support.processes import free_port


@pytest.fixture(scope="module")
def switch() -> Iterator[CaddySwitch]:
    with tempfile.TemporaryDirectory(prefix="jn-pages-") as short:  # the admin socket path
        started = CaddySwitch(SwitchSettings(
            run_dir=Path(short) / "run", log_dir=Path(short) / "logs",
            ports={"frontend": free_port()},
            timeouts=Timeouts(upstream_retry=0.5, shutdown_grace=1)))
        started.start()
        started.write_page("maintenance", pages.maintenance_page())
        started.write_page("outage", pages.outage_page())
        started.write_page("status", pages.status_page("production"))
        try:
            yield started
        finally:
            started.stop()


def _base(switch: CaddySwitch) -> str:
    return f"http://127.0.0.1:{switch.settings.ports['frontend']}"


def test_maintenance_outage_and_status_pages_in_a_browser(chromium: Browser,
                                                          switch: CaddySwitch) -> None:
    page = chromium.new_page()
    try:
        switch.route("frontend", None)  # a migration rollback's maintenance window
        response = page.goto(_base(switch) + "/jobs?q=python")
        assert response is not None and response.status == 503
        assert response.headers.get("retry-after")
        expect(page).to_have_title("Maintenance · JobNaut")
        expect(page.get_by_role("heading")).to_have_text("JobNaut is down for maintenance")
        expect(page.get_by_text("saved jobs, notes and profile are safe")).to_be_visible()

        page.get_by_role("link", name="the status page").click()
        expect(page.get_by_role("heading")).to_have_text("JobNaut status (production)")

        dead = free_port()  # a release that died: nothing listens there any more
        switch.route("frontend", dead, release="v9")
        response = page.goto(_base(switch) + "/saved")
        assert response is not None and response.status == 503
        expect(page.get_by_role("heading")).to_have_text("JobNaut is not answering right now")
    finally:
        page.close()
