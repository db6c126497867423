"""Ending a split that an interrupted canary left in the traffic switch."""

from __future__ import annotations

from jobnaut.ops import serving
from jobnaut.ops.context import Env
from jobnaut.ops.drivers import driver_for, traffic


def end_split(env: Env) -> list[str]:
    """Every service split between releases goes back to the release most of its new
    sessions went to (the one serving before the canary), when a live process of it runs
    there; before a canary's processes stop, so that none of its sessions hits a dead
    port."""
    if not traffic.switch_running(env.home):
        return []
    notes = []
    runs = driver_for(env.home)
    for service, route in traffic.routes(env.home).items():
        if not route or not route.startswith("weighted:"):
            continue
        port = serving.port_of(route)
        live = [p for p in env.ledger.running_processes()
                if p.service == service and p.port == port and runs.alive(p)]
        if live:
            traffic.route(env.home, service, port, f"v{live[0].release_id}")
            notes.append(f"canary ended: {service} back on v{live[0].release_id} for every "
                         "session")
    return notes
