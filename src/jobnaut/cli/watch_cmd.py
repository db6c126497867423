"""`jobnaut watch`: the environment live at a terminal (Rich Live), or as plain lines
(`--once`, or when the output is not a terminal)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from jobnaut.cli.ops_cmds import open_env
from jobnaut.cli.output import console, print_json
from jobnaut.ops.canary import state as canary

if TYPE_CHECKING:
    from jobnaut.ops.monitor import TrafficView


def watch(
    once: bool = typer.Option(False, "--once", help="print one view as plain lines and exit"),
    interval: float = typer.Option(1.0, "--interval", min=0.2, help="seconds between views"),
    span: float = typer.Option(10.0, "--span", min=1.0,
                               help="seconds of traffic each figure covers"),
    as_json: bool = typer.Option(False, "--json", help="one view as JSON (implies --once)"),
) -> None:
    """Which release serves each service, request rate, 5xx rate and p50/p95 latency per
    release, database figures, the guard's state and alerts, and the last events."""
    from jobnaut.ops import monitor

    env = open_env()
    view = monitor.TrafficView(env)
    try:
        if as_json:
            print_json(monitor.snapshot(env, view, span))
        elif once or not console.is_terminal:
            _plain(env, view, span, interval, once)
        else:
            with Live(render(monitor.snapshot(env, view, span)), console=console,
                      refresh_per_second=4, screen=False) as live:
                while True:
                    time.sleep(interval)
                    live.update(render(monitor.snapshot(env, view, span)))
    except KeyboardInterrupt:
        pass  # leaving the view is the normal way out
    finally:
        view.close()


def _plain(env: Any, view: TrafficView, span: float, interval: float,
           once: bool) -> None:
    from jobnaut.ops import monitor

    while True:
        for line in monitor.lines(monitor.snapshot(env, view, span)):
            typer.echo(line)
        if once:
            return
        typer.echo("")
        time.sleep(interval)


def render(snap: dict[str, Any]) -> Group:
    """The snapshot as Rich tables, for the live view."""
    from jobnaut.ops import monitor

    head = Text.assemble((f"JobNaut {snap['environment']}", "bold"), f"  {snap['at']}  ",
                         "serving: " + ", ".join(f"{s} {r or '-'}"
                                                 for s, r in snap["serving"].items()))
    traffic = Table("service", "release", "req/s", "5xx", "p50", "p95",
                    title=f"traffic, last {snap['span_seconds']:.0f} s", title_justify="left")
    for row in snap["traffic"]:
        errors = row["errors"] / row["requests"] if row["requests"] else 0.0
        colour = "red" if row["errors"] else "green"
        serving = snap["serving"].get(row["service"]) == row["release"]
        traffic.add_row(row["service"], row["release"] + (" (serving)" if serving else ""),
                        f"{row['requests'] / row['seconds']:.1f}",
                        f"[{colour}]{errors:.1%}[/]", monitor.ms(row["p50"]),
                        monitor.ms(row["p95"]))
    guard = snap["guard"]
    parts: list[Any] = [head]
    if snap.get("canary"):
        parts.append(Text(str(canary.text(snap["canary"])), style="yellow"))
    parts += [traffic, Text(f"guard: {monitor.guard_text(guard)}"),
              Text(f"database: {monitor.database_text(snap['database'])}")]
    parts += [Text.from_markup(f"[bold red]ALERT OPEN:[/] {escape(alert)}")
              for alert in guard.get("open_alerts") or []]
    events = Table("time", "level", "event", title="last events", title_justify="left")
    for e in snap["events"]:
        events.add_row(e["at"][11:19], e["level"], escape(e["message"]))
    parts.append(events)
    return Group(*parts)


def dashboard(
    port: int = typer.Option(8900, "--port", min=0, max=65535,
                             help="loopback port (0: any free one, printed)"),
) -> None:
    """The operator dashboard in the browser, on 127.0.0.1: charts per release (request
    rate, 5xx rate, p95) with switch, rollback and alert markers, and the timeline.
    Runs until Ctrl-C."""
    from jobnaut.ops.dashboard import server

    env = open_env()
    server.serve(env, port, lambda url: typer.echo(f"dashboard: {url} (Ctrl-C stops it)"))
