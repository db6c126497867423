"""The pages the traffic switch serves when no release answers: written by the control
plane into the switch's run directory, so that they outlive the application."""

from __future__ import annotations

from html import escape

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · JobNaut</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d2430; }}
main {{ max-width: 34rem; margin: 12vh auto; padding: 2rem; background: #fff;
        border-radius: 12px; box-shadow: 0 1px 4px rgba(0,0,0,.08); }}
h1 {{ font-size: 1.5rem; margin-top: 0; }}
p {{ line-height: 1.5; }}
a {{ color: #1a56db; }}
</style></head>
<body><main>
<h1>{heading}</h1>
<p>{message}</p>
<p>Your saved jobs, notes and profile are safe. This page refreshes by itself; you can also
see <a href="/status">the status page</a>.</p>
</main>
<script>setTimeout(function () {{ location.reload(); }}, 30000);</script>
</body></html>
"""


def maintenance_page() -> str:
    return _PAGE.format(title="Maintenance", heading="JobNaut is down for maintenance",
                        message="We are updating JobNaut and will be back in a few minutes.")


def outage_page() -> str:
    return _PAGE.format(title="Unavailable", heading="JobNaut is not answering right now",
                        message="Something went wrong on our side and we are on it.")


def status_page(environment: str) -> str:
    return _PAGE.format(title="Status", heading=f"JobNaut status ({escape(environment)})",
                        message="No incident is reported.")
