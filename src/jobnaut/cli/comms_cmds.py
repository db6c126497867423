"""`jobnaut incident|timeline|notify|contacts|maintenance`: telling people (the plan's
Communication Plan, Contact Information and Post-Rollback Actions)."""

from __future__ import annotations

from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from jobnaut.cli.ops_cmds import open_env
from jobnaut.cli.output import console, fail, print_json

incident_app = typer.Typer(help="Open, update, acknowledge and resolve incidents; draft "
                                "their post-mortem.", no_args_is_help=True)
notify_app = typer.Typer(help="Notification channels (e-mail, chat, webhooks) by audience.",
                         no_args_is_help=True)
maintenance_app = typer.Typer(help="Scheduled maintenance, shown on the status page.",
                              no_args_is_help=True)

COMPONENT_HELP = "affected component (repeat): api, web, database, sign_in, search, saved_jobs"


def register(app: typer.Typer) -> None:
    app.add_typer(incident_app, name="incident")
    app.add_typer(notify_app, name="notify")
    app.add_typer(maintenance_app, name="maintenance")
    app.command("timeline")(timeline)
    app.command("contacts")(contacts)


@incident_app.command("open")
def incident_open(
    title: str = typer.Option(..., "--title", "-t", help="a short headline users see"),
    message: str = typer.Option(..., "--message", "-m", help="what users are told"),
    impact: str = typer.Option("major", help="none, minor, major or critical"),
    component: list[str] = typer.Option(["api", "web"], "--component", "-c",
                                        help=COMPONENT_HELP),
    eta: str | None = typer.Option(None, help="expected restoration: ISO time, or 30m / 2h"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Open an incident: the team, stakeholders and (from major on) users are notified and
    the status page shows it."""
    from jobnaut.ops.comms import incidents

    opened = incidents.open_incident(open_env(), title=title, impact=impact,
                                     components=component, message=message, eta=eta)
    _print_incident(opened.as_json(), as_json, f"incident #{opened.id} opened")


@incident_app.command("update")
def incident_update(
    incident_id: int = typer.Argument(...),
    message: str = typer.Option(..., "--message", "-m"),
    state: str | None = typer.Option(None, help="investigating, identified or monitoring"),
    impact: str | None = typer.Option(None, help="none, minor, major or critical"),
    eta: str | None = typer.Option(None, help="expected restoration: ISO time, or 30m / 2h"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Post an update (it resets the time by which the next one is due)."""
    from jobnaut.ops.comms import incidents

    updated = incidents.update_incident(open_env(), incident_id, message=message, state=state,
                                        impact=impact, eta=eta)
    _print_incident(updated.as_json(), as_json, f"incident #{incident_id} {updated.state}")


@incident_app.command("ack")
def incident_ack(incident_id: int = typer.Argument(...),
                 by: str = typer.Option("", "--by", help="who takes it")) -> None:
    """Acknowledge an incident: it is no longer escalated."""
    from jobnaut.ops.comms import incidents

    acked = incidents.acknowledge(open_env(), incident_id, by)
    console.print(f"incident #{incident_id} acknowledged by {escape(acked.acknowledged_by or '')}")


@incident_app.command("resolve")
def incident_resolve(
    incident_id: int = typer.Argument(...),
    root_cause: str = typer.Option(..., "--root-cause", help="the root cause, or a link to it"),
    message: str | None = typer.Option(None, "--message", "-m"),
) -> None:
    """Resolve an incident: everyone told about it is told it is over."""
    from jobnaut.ops.comms import incidents

    incidents.resolve(open_env(), incident_id, root_cause=root_cause, message=message)
    console.print(f"incident #{incident_id} resolved; draft the post-mortem with "
                  f"`jobnaut incident report {incident_id}`")


@incident_app.command("list")
def incident_list(show_all: bool = typer.Option(False, "--all", help="resolved ones too"),
                  as_json: bool = typer.Option(False, "--json")) -> None:
    """Open incidents (all with --all)."""
    from jobnaut.ops.comms.store import CommsStore

    env = open_env()
    found = CommsStore(env.home.ledger_path).incidents(open_only=not show_all)
    if as_json:
        print_json([i.as_json() for i in found])
        return
    if not found:
        console.print("no open incident" if not show_all else "no incident yet")
        return
    table = Table("#", "kind", "state", "impact", "title", "opened", "ack")
    for i in found:
        table.add_row(str(i.id), i.kind, i.state, i.impact, escape(i.title), i.opened_at[:19],
                      escape(i.acknowledged_by or ("—" if i.open else "")))
    console.print(table)


@incident_app.command("show")
def incident_show(incident_id: int = typer.Argument(...),
                  as_json: bool = typer.Option(False, "--json")) -> None:
    """An incident with its updates and the notices sent for it."""
    from jobnaut.ops.comms.store import CommsStore

    store = CommsStore(open_env().home.ledger_path)
    try:
        incident = store.incident(incident_id)
    except KeyError:
        fail(f"incident #{incident_id} does not exist", code=2)
    data = {**incident.as_json(), "updates": store.updates(incident_id),
            "notices": [{"channel": n.channel, "audience": n.audience, "status": n.status,
                         "attempts": n.attempts, "error": n.last_error, "subject": n.subject}
                        for n in store.notices(incident_id=incident_id)]}
    _print_incident(data, as_json, f"incident #{incident_id}")


@incident_app.command("report")
def incident_report(incident_id: int = typer.Argument(...)) -> None:
    """Write the post-mortem draft (Markdown and HTML) from the record."""
    from jobnaut.ops.comms import postmortem

    markdown, html = postmortem.write(open_env(), incident_id)
    console.print(f"post-mortem draft: {markdown} (and {html.name})")


def timeline(
    incident: int | None = typer.Option(None, "--incident", help="only around this incident"),
    since: str | None = typer.Option(None, help="ISO time, or back from now: 30m, 2h, 7d"),
    limit: int = typer.Option(200, "--limit", "-n"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Everything that happened, in order: operations, incident updates, notices."""
    from jobnaut.ops.comms.timeline import timeline as build

    entries = build(open_env(), incident_id=incident, since=since, limit=limit)
    if as_json:
        print_json([e.as_json() for e in entries])
        return
    for e in entries:
        colour = {"error": "red", "warning": "yellow"}.get(e.level, "")
        text = escape(e.message)
        console.print(f"{e.at[:23]} {e.source:<8} " + (f"[{colour}]{text}[/]" if colour else text))


@notify_app.command("add")
def notify_add(
    name: str = typer.Argument(..., help="a name for the channel"),
    url: str = typer.Argument(..., help="Apprise URL: mailto://…, json://…, slack://…"),
    audience: str = typer.Option(..., help="team, stakeholders, users, escalation, or "
                                           "contacts (e-mails the [contacts] of each notice)"),
) -> None:
    """Add a channel. Its URL (with any token or password) is stored encrypted and never
    shown again."""
    from jobnaut.ops.comms import notify

    kind = notify.add_channel(open_env(), name, url, audience)
    console.print(f"channel {escape(name)} ({kind}) added for {audience}; try it with "
                  f"`jobnaut notify test {escape(name)}`")


@notify_app.command("remove")
def notify_remove(name: str = typer.Argument(...)) -> None:
    """Remove a channel."""
    from jobnaut.ops.comms import notify

    notify.remove_channel(open_env(), name)
    console.print(f"channel {escape(name)} removed")


@notify_app.command("list")
def notify_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """Channels and how their last delivery went (never their URLs)."""
    from jobnaut.ops.comms import notify

    found = notify.channels(open_env())
    if as_json:
        print_json(found)
        return
    table = Table("name", "audience", "kind", "last", "pending", "failed", "last error")
    for c in found:
        table.add_row(escape(str(c["name"])), str(c["audience"]), str(c["kind"]),
                      str(c["last_status"] or "—"), str(c["pending"]), str(c["failed"]),
                      escape(str(c["last_error"] or "")))
    console.print(table if found else "no channel yet: `jobnaut notify add NAME URL --audience …`")


@notify_app.command("test")
def notify_test(name: str | None = typer.Argument(None, help="one channel (default: all)")
                ) -> None:
    """Send a test message through each channel now and say how each went."""
    from jobnaut.ops.comms import notify, settings

    env = open_env()
    results = notify.test_channels(env, settings.load(env.home), name)
    failed = False
    for channel, error in results:
        failed |= error is not None
        mark = "[green]✓[/]" if error is None else "[red]✗[/]"
        console.print(f"{mark} {escape(channel)}" + (f": {escape(error)}" if error else ""))
    if failed:
        raise typer.Exit(1)


@notify_app.command("send", hidden=True)
def notify_send() -> None:
    """The detached sender that rollbacks start: delivers the outbox, then exits."""
    from jobnaut.ops.comms import sender, settings

    env = open_env()
    sender.run_sender(env, settings.load(env.home))


def contacts(as_json: bool = typer.Option(False, "--json")) -> None:
    """The plan's contact information ([contacts] in jobnaut.toml)."""
    from jobnaut.ops.comms import settings

    found = settings.load(open_env().home).contacts
    if as_json:
        print_json([c.__dict__ for c in found])
        return
    if not found:
        console.print("no contacts: add [contacts.<role>] sections to jobnaut.toml")
        return
    table = Table("role", "name", "email", "phone", "told", "impacts")
    for c in found:
        table.add_row(escape(c.role), escape(c.name), escape(c.email or ""),
                      escape(c.phone or ""), ", ".join(c.audiences), ", ".join(c.impacts))
    console.print(table)


@maintenance_app.command("schedule")
def maintenance_schedule(
    start: str = typer.Option(..., help="ISO time, or from now: 30m, 2h"),
    end: str = typer.Option(..., help="ISO time, or from now: 30m, 2h"),
    message: str = typer.Option(..., "--message", "-m"),
    component: list[str] = typer.Option(["api", "web"], "--component", "-c",
                                        help=COMPONENT_HELP),
) -> None:
    """Announce a maintenance window: on the status page, and to users and the team."""
    from jobnaut.ops.comms import maintenance

    window = maintenance.schedule(open_env(), start=start, end=end, message=message,
                                  components=component)
    console.print(f"maintenance #{window} scheduled")


def _print_incident(data: dict[str, Any], as_json: bool, headline: str) -> None:
    if as_json:
        print_json(data)
        return
    console.print(f"[bold]{escape(headline)}[/]: {escape(str(data['title']))} "
                  f"({data['state']}, {data['impact']})")
    if data.get("eta"):
        console.print(f"  expected restoration: {data['eta']}")
    for update in data.get("updates") or []:
        console.print(f"  {update['at'][:19]} {update['state']}: {escape(update['message'])}")
