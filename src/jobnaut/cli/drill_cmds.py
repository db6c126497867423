"""`jobnaut drill run|report|history|schedule`: rollback drills on a staging copy."""

from __future__ import annotations

from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from jobnaut.cli.ops_cmds import home_root, open_env
from jobnaut.cli.output import console, fail, print_json
from jobnaut.ops.drills import catalogue, history
from jobnaut.ops.drills.catalogue import SCENARIOS
from jobnaut.ops.drills.store import DrillRecord, DrillStore

app = typer.Typer(help="Rollback drills: inject a fault on staging under a synthetic load, "
                       "measure detection, MTTR, failed requests and lost writes.",
                  no_args_is_help=True)


@app.command("run")
def run(
    name: str = typer.Argument(..., metavar="SCENARIO", help=f"one of {', '.join(SCENARIOS)}"),
    dry_run: bool = typer.Option(False, "--dry-run", help="print the steps; change nothing"),
    allow_production: bool = typer.Option(False, "--allow-production",
                                          help="drill on an environment that is not a "
                                               "staging copy"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Run one drill scenario on this (staging) environment and record it."""
    from jobnaut.ops.drills import run as drill_run

    env = open_env()
    chosen = catalogue.scenario(name)
    drill_run.check_target(env, allow_production=allow_production)
    if dry_run:
        if as_json:
            print_json({"scenario": chosen.name, "section": chosen.section, "dry_run": True,
                        "steps": list(chosen.steps)})
            return
        console.print(f"[bold]Drill {chosen.name}[/] ({chosen.section}) on "
                      f"{env.home.config.name} (dry run: nothing changes)")
        for n, step in enumerate(chosen.steps, start=1):
            console.print(f"{n:>2}. {escape(step)}")
        return
    record = drill_run.run(env, name, allow_production=allow_production)
    if as_json:
        print_json(record.summary())
    else:
        _print_record(record)
    if record.status != "passed":
        fail(f"drill #{record.id} ({record.scenario}) {record.status}"
             + (f": {record.error}" if record.error else ""),
             f"`jobnaut drill report {record.id}` explains it")


def _print_record(record: DrillRecord) -> None:
    colour = "green" if record.passed else "red"
    m = record.metrics
    console.print(f"[{colour}]drill #{record.id} {record.scenario}: {record.status}[/]  "
                  f"detect {m.get('detect_seconds')} s · MTTR {m.get('mttr_seconds')} s · "
                  f"{m.get('failed_requests')}/{m.get('requests')} requests failed · "
                  f"RPO {m.get('rpo_rows')} rows"
                  + (f" (announced {m['announced_rows']})"
                     if m.get("announced_rows") is not None else "")
                  + (f" · RTO {m['rto_seconds']} s" if m.get("rto_seconds") is not None
                     else ""))
    for verdict in record.verdicts:
        mark = "[green]✓[/]" if verdict["passed"] else "[red]✗[/]"
        console.print(f"  {mark} {verdict['target']}: {verdict['value']} "
                      f"(target {verdict['limit']})")


@app.command("history")
def history_cmd(as_json: bool = typer.Option(False, "--json")) -> None:
    """Past drills, the trend of MTTR per scenario, and when each scenario last passed."""
    store = DrillStore(open_env().home.ledger_path)
    summary = history.summarise(store.all())
    if as_json:
        print_json(summary)
        return
    table = Table("#", "scenario", "status", "when", "detect", "MTTR", "failed", "RPO")
    for d in summary["drills"]:
        colour = {"passed": "green", "failed": "red", "error": "red"}.get(d["status"], "")
        m = d["metrics"]
        table.add_row(str(d["id"]), d["scenario"], f"[{colour}]{d['status']}[/]",
                      d["started_at"][:16].replace("T", " "), _s(m.get("detect_seconds")),
                      _s(m.get("mttr_seconds")), str(m.get("failed_requests", "-")),
                      str(m.get("rpo_rows", "-")))
    console.print(table)
    for name, item in summary["scenarios"].items():
        console.print(f"{name}: last passed {item['last_passed'] or 'never'}; MTTR trend "
                      f"{' → '.join(_s(v) for v in item['mttr_trend']) or '-'}")


def _s(value: Any) -> str:
    return "-" if value is None else f"{value:.1f}s"


@app.command("report")
def report(
    number: int | None = typer.Argument(None, help="drill id (default: the last one)"),
) -> None:
    """Write reports/drill-N.md and .html with a chart of success and latency."""
    from jobnaut.ops.drills import report as drill_report

    env = open_env()
    store = DrillStore(env.home.ledger_path)
    drills = store.all()
    if not drills:
        fail("no drill has run on this environment", "`jobnaut drill run SCENARIO`")
    try:
        record = store.get(number) if number is not None else drills[-1]
    except KeyError:
        fail(f"drill #{number} does not exist", "`jobnaut drill history` lists them", code=2)
    paths = drill_report.write(env, record)
    for path in paths:
        console.print(f"[green]✓[/] {path}")


@app.command("schedule")
def schedule(
    monthly: bool = typer.Option(False, "--monthly", help="the plan's monthly drills"),
    scenario: list[str] = typer.Option(list(SCENARIOS), "--scenario",
                                       help="scenarios to run (default: all)"),
    print_only: bool = typer.Option(False, "--print", help="print the units; install nothing"),
) -> None:
    """Install a systemd timer (as root) that runs the drills monthly, or print it."""
    from jobnaut.ops.drills import schedule as drill_schedule

    if not monthly:
        fail("say how often: --monthly", code=2)
    for name in scenario:
        catalogue.scenario(name)
    plan = drill_schedule.monthly(home_root(), scenario)
    if print_only or not drill_schedule.can_install():
        console.print("# not root: install these by hand" if not print_only else "",
                      markup=False)
        for path, text in plan.files.items():
            console.print(f"# {path}\n{text}", markup=False)
        console.print(f"# then: {' '.join(plan.enable)}", markup=False)
        return
    for path in drill_schedule.install(plan):
        console.print(f"[green]✓[/] wrote {path}")
    console.print(f"[green]✓[/] {' '.join(plan.enable)}")
