"""The traffic switch (Caddy, ADR 0005) in front of every driver: it routes each public
port to 127.0.0.1:PORT, whichever driver runs the release listening there. Started
detached, driven through its admin socket and the dial files."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from jobnaut.ops.environment import SERVICES, Home
from jobnaut.ops.errors import OpsError

SWARM_SLOTS = 2  # a swarm release's tasks per service (drivers.swarm.REPLICAS)

if TYPE_CHECKING:
    from jobnaut.ops.caddy import CaddySwitch


def traffic_switch(home: Home) -> CaddySwitch:
    from jobnaut.ops.caddy import MIB, CaddySwitch, SwitchSettings, Timeouts, TlsSettings

    cfg = home.config
    production = cfg.switch
    tls = TlsSettings(domain=production.domain, cert_file=production.certificate,
                      key_file=production.key, redirect_ports=production.redirect_http,
                      ) if production.tls else None
    return CaddySwitch(SwitchSettings(
        run_dir=home.run / "switch", log_dir=home.logs,
        ports={"backend": cfg.backend_port, "frontend": cfg.frontend_port}, tls=tls,
        # Under swarm the services on other nodes reach the API through the switch.
        listen_host="0.0.0.0" if cfg.driver.kind == "swarm" and tls is None else None,
        upstream_slots=SWARM_SLOTS if cfg.driver.kind == "swarm" else 1,
        max_body_bytes=production.max_body_mb * MIB,
        timeouts=Timeouts(shutdown_grace=cfg.drain_timeout,
                          upstream_retry=cfg.upstream_retry)))


def switch_identity(home: Home) -> tuple[int, int | None] | None:
    """(pid, start ticks) of the traffic switch as recorded when it started."""
    return traffic_switch(home).identity()


def switch_running(home: Home) -> bool:
    return traffic_switch(home).running()


def switch_answers(home: Home) -> bool:
    """Whether the traffic switch answers on its admin socket."""
    return traffic_switch(home).answers()


def ensure_switch(home: Home) -> None:
    """Start the traffic switch unless it runs, and (re)write the pages it serves when no
    release answers."""
    from jobnaut.ops import pages

    switch = traffic_switch(home)
    if not switch.running():
        cfg = home.config
        for port in (cfg.backend_port, cfg.frontend_port):
            if _port_taken(port):
                raise OpsError(f"port {port} is already in use by another program",
                               hint=f"choose other ports in {home.root / 'jobnaut.toml'} "
                                    "[ports], then run the command again")
    switch.start()  # a running switch keeps running; an outdated config is loaded
    switch.write_page("maintenance", pages.maintenance_page())
    switch.write_page("outage", pages.outage_page())
    if "JobNaut" not in switch.layout.page("status").read_text():  # keep a written one
        switch.write_page("status", pages.status_page(home.config.name))


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def stop_switch(home: Home) -> None:
    traffic_switch(home).stop()


def route(home: Home, service: str, port: int | None, release: str | None = None) -> None:
    """Send the service's traffic to `port` (None: nothing live, the switch answers 503).
    `release` names it in the switch's access log. Under swarm the port is the release's
    own on every node, and the switch dials a running task of it at its node's address."""
    hosts: list[str] = ["127.0.0.1"]
    if port is not None and home.config.driver.kind == "swarm":
        from jobnaut.ops.drivers.swarm import SwarmDriver

        hosts = SwarmDriver(home).task_hosts(port) or hosts
    traffic_switch(home).route(service, port, release, hosts)


def split(home: Home, service: str, weights: dict[int, int], releases: dict[int, str]) -> None:
    """Send new sessions to the ports by weight (a cookie keeps each on its port: a canary,
    ADR 0013); `releases` names the release on each port in the access log. The next
    `route` ends the split."""
    traffic_switch(home).set_weights(service, weights, releases)


def routes(home: Home) -> dict[str, str | None]:
    switch = traffic_switch(home)
    found = switch.routes() if switch.running() else {}
    return {s: _as_url(found.get(s)) for s in SERVICES}


def _as_url(route: str | None) -> str | None:
    """Caddy's `host:port` as the URL the rest of the control plane reads."""
    if route is None or route.startswith("weighted:"):
        return route
    return f"http://{route}"


def follow_tasks(home: Home) -> list[str]:
    """Swarm: each routed service sent again to its release's running tasks when they moved
    (a node lost, its tasks started by Swarm on another); says what changed."""
    if home.config.driver.kind != "swarm":
        return []
    from jobnaut.ops.drivers.swarm import SwarmDriver

    switch = traffic_switch(home)
    if not switch.running():
        return []
    moved = []
    for service, route in switch.routes().items():
        if route is None or route.startswith("weighted:"):
            continue
        port = int(route.rsplit(":", 1)[1])
        hosts = SwarmDriver(home).task_hosts(port)
        if hosts and set(switch.upstreams(service)) != {f"{h}:{port}" for h in hosts}:
            switch.route(service, port, switch.release_of(service), hosts)
            moved.append(f"{service} now on {', '.join(hosts)}")
    return moved
