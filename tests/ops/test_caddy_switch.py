"""The Caddy traffic switch with a real Caddy and real upstream processes.

One Caddy is shared by the module (each test sets the routes it needs); the TLS test and
the failure paths start their own. Upstreams are tiny HTTP servers that answer their name.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from jobnaut.ops import checks
from jobnaut.ops.caddy import (
    CaddySwitch,
    SwitchSettings,
    Timeouts,
    TlsSettings,
    build_config,
    caddy_executable,
    check_caddy,
)
from jobnaut.ops.drivers import traffic
from jobnaut.ops.environment import CONFIG_NAME, Home, load_home
from jobnaut.ops.errors import OpsError
from tests.ops.helpers import fresh_get
from tests.support.processes import free_port, listening_tcp_ports, stop, wait_http

REPO_ROOT = Path(__file__).resolve().parents[2]
FAST = Timeouts(upstream_retry=1.0, retry_interval=0.05, shutdown_grace=2)


@dataclass
class Upstream:
    name: str
    port: int
    proc: subprocess.Popen[bytes]


def start_upstream(name: str) -> Upstream:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.name_server", name, str(port)],
                            cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    wait_http(f"http://127.0.0.1:{port}/", timeout=20, proc=proc)
    return Upstream(name, port, proc)


@pytest.fixture(scope="module")
def short_dir() -> Iterator[Path]:
    """A short path: the admin socket lives in it (Unix socket paths are <= 107 bytes)."""
    with tempfile.TemporaryDirectory(prefix="jn-caddy-") as directory:
        yield Path(directory)


@pytest.fixture(scope="module")
def upstreams() -> Iterator[dict[str, Upstream]]:
    started = {name: start_upstream(name) for name in ("blue", "green")}
    yield started
    for upstream in started.values():
        stop(upstream.proc)


@dataclass
class Env:
    switch: CaddySwitch
    ports: dict[str, int]
    upstreams: dict[str, Upstream] = field(default_factory=dict)

    def url(self, service: str, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.ports[service]}{path}"


@pytest.fixture(scope="module")
def env(short_dir: Path, upstreams: dict[str, Upstream]) -> Iterator[Env]:
    ports = {"backend": free_port(), "frontend": free_port()}
    switch = CaddySwitch(SwitchSettings(run_dir=short_dir / "run", log_dir=short_dir / "logs",
                                        ports=ports, timeouts=FAST))
    switch.start()
    try:
        yield Env(switch, ports, upstreams)
    finally:
        switch.stop()


# --- process and admin -----------------------------------------------------------------

def test_admin_socket_is_private_and_caddy_listens_only_on_public_ports(env: Env) -> None:
    socket_path = env.switch.layout.admin_socket
    mode = socket_path.stat().st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600
    pid = env.switch.pid()
    assert pid is not None and env.switch.running()
    assert listening_tcp_ports(pid) == set(env.ports.values())
    assert not list(env.switch.layout.data_dir.rglob("autosave.json"))


def test_a_service_never_routed_answers_maintenance_not_a_connection_error(
        short_dir: Path) -> None:
    port = free_port()
    switch = CaddySwitch(SwitchSettings(run_dir=short_dir / "run-new",
                                        log_dir=short_dir / "logs-new",
                                        ports={"frontend": port}, timeouts=FAST))
    switch.start()
    try:
        assert switch.routes() == {"frontend": None}
        response = httpx.get(f"http://127.0.0.1:{port}/jobs")
        assert response.status_code == 503
        assert "maintenance" in response.text.lower()
    finally:
        switch.stop()


# --- switching -------------------------------------------------------------------------

@dataclass
class Load:
    """Two bounded client loops: one keep-alive connection, one new connection a request."""

    port: int
    path: str
    stop: threading.Event = field(default_factory=threading.Event)
    answers: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def run(self, seconds: float, max_requests: int) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._loop, args=(keep_alive, seconds, max_requests))
                   for keep_alive in (True, False)]
        for thread in threads:
            thread.start()
        return threads

    def _loop(self, keep_alive: bool, seconds: float, max_requests: int) -> None:
        deadline = time.monotonic() + seconds
        client = httpx.Client(timeout=10) if keep_alive else None
        kind = "keep-alive" if keep_alive else "new"
        url = f"http://127.0.0.1:{self.port}{self.path}"
        try:
            for _ in range(max_requests):
                if self.stop.is_set() or time.monotonic() > deadline:
                    return
                try:
                    if client is not None:
                        response = client.get(url)
                        status, body = response.status_code, response.text
                    else:
                        status, body, _ = fresh_get(self.port, self.path)
                except (httpx.HTTPError, OSError) as exc:
                    self.failures.append(f"{kind}: {exc!r}")
                    continue
                if status != 200:
                    self.failures.append(f"{kind}: {status}")
                self.answers[f"{kind}:{body}"] += 1
        finally:
            if client is not None:
                client.close()


def test_switches_under_load_lose_no_request_and_take_effect_at_once(env: Env) -> None:
    blue, green = env.upstreams["blue"], env.upstreams["green"]
    env.switch.route("backend", blue.port, release="blue")
    load = Load(env.ports["backend"], "/health")
    threads = load.run(seconds=40, max_requests=20_000)
    try:
        for i in range(24):
            target = green if i % 2 == 0 else blue
            env.switch.route("backend", target.port, release=target.name)
            status, body, _ = fresh_get(env.ports["backend"], "/health")
            assert (status, body) == (200, target.name), f"switch {i}"
            time.sleep(0.15)
    finally:
        load.stop.set()
        for thread in threads:
            thread.join()
    assert load.failures == []
    for kind in ("keep-alive", "new"):
        assert load.answers[f"{kind}:blue"] > 0 and load.answers[f"{kind}:green"] > 0
    assert sum(load.answers.values()) >= 1000
    assert env.switch.routes()["backend"] == f"127.0.0.1:{blue.port}"


def test_access_log_attributes_each_response_to_its_upstream_across_a_switch(env: Env) -> None:
    blue, green = env.upstreams["blue"], env.upstreams["green"]
    marker = f"attr{time.monotonic_ns()}"
    env.switch.route("backend", blue.port, release="r1-blue")
    slow = threading.Thread(target=fresh_get, args=(env.ports["backend"],
                                                    f"/slow/{marker}/before/in-flight"))
    secrets = {"Authorization": "Bearer tok-s3cr3t", "Cookie": "session=c00k1e-s3cr3t"}
    with httpx.Client(headers=secrets) as client:
        for i in range(3):
            assert client.get(env.url("backend", f"/{marker}/before/{i}")).text == "blue"
        slow.start()
        time.sleep(0.2)  # the slow request has reached blue, and is still there
        env.switch.route("backend", green.port, release="r2-green")
        for i in range(3):
            assert client.get(env.url("backend", f"/{marker}/after/{i}")).text == "green"
    slow.join()
    entries = wait_for_log_entries(env.switch.access_log_path, marker, count=7)
    for entry in entries:
        expected = blue if "/before/" in entry["request"]["uri"] else green
        assert entry["service"] == "backend"
        assert entry["upstream"] == f"127.0.0.1:{expected.port}"
        assert entry["release"] == ("r1-blue" if expected is blue else "r2-green")
        assert entry["status"] == 200
        assert entry["duration"] > 0
    log = env.switch.access_log_path.read_text()
    assert "s3cr3t" not in log  # credentials are redacted


def test_slots_spread_over_a_releases_tasks_and_pass_over_a_dead_one(
        short_dir: Path) -> None:
    """Swarm: one release's tasks on several hosts, on its one port. Each slot is a dial file;
    a task whose dial fails (a lost node) is passed over, and no request fails."""
    port = free_port()
    tasks = [subprocess.Popen([sys.executable, "-m", "tests.support.name_server", name,
                               str(port), host], cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.STDOUT)
             for name, host in (("task-a", "127.0.0.1"), ("task-b", "127.0.0.2"))]
    ports = {"backend": free_port(), "frontend": free_port()}
    switch = CaddySwitch(SwitchSettings(run_dir=short_dir / "slots", log_dir=short_dir / "sl",
                                        ports=ports, timeouts=FAST, upstream_slots=2))
    try:
        for task, host in zip(tasks, ("127.0.0.1", "127.0.0.2"), strict=True):
            wait_http(f"http://{host}:{port}/", timeout=20, proc=task)
        switch.start()
        switch.route("backend", port, release="v1", hosts=["127.0.0.1", "127.0.0.2"])
        assert switch.upstreams("backend") == [f"127.0.0.1:{port}", f"127.0.0.2:{port}"]
        answers = [fresh_get(ports["backend"])[1] for _ in range(10)]
        assert set(answers) == {"task-a", "task-b"}  # round robin over the tasks

        stop(tasks[1])  # its node is lost
        answers = [fresh_get(ports["backend"]) for _ in range(20)]
        assert {(status, body) for status, body, _ in answers} == {(200, "task-a")}
        assert switch.release_of("backend") == "v1"
    finally:
        switch.stop()
        for task in tasks:
            stop(task)


def wait_for_log_entries(path: Path, marker: str, count: int) -> list[dict[str, object]]:
    deadline = time.monotonic() + 5
    while True:
        lines = path.read_text().splitlines() if path.exists() else []
        entries = [json.loads(line) for line in lines if marker in line]
        if len(entries) >= count or time.monotonic() > deadline:
            assert len(entries) == count
            return entries
        time.sleep(0.05)


# --- maintenance, outage, status -------------------------------------------------------

def test_maintenance_answers_browsers_with_the_page_and_api_clients_with_json(env: Env) -> None:
    env.switch.write_page("maintenance", "<h1>Upgrading JobNaut, back at 09:00</h1>")
    env.switch.route("backend", None)
    assert env.switch.routes()["backend"] is None

    page = httpx.get(env.url("backend", "/jobs"), headers={"Accept": "text/html"})
    assert page.status_code == 503
    assert "back at 09:00" in page.text
    assert page.headers["content-type"].startswith("text/html")
    posted = httpx.post(env.url("backend", "/saved"), data={"job": "1"})
    assert posted.status_code == 503 and "back at 09:00" in posted.text

    for headers, path in (({"Accept": "application/json"}, "/jobs"), ({}, "/api/jobs")):
        api = httpx.get(env.url("backend", path), headers=headers)
        assert api.status_code == 503
        assert api.headers["retry-after"] == "30"
        assert api.json()["error"]["code"] == "maintenance"

    env.switch.route("backend", env.upstreams["green"].port, release="green")
    assert httpx.get(env.url("backend", "/jobs")).text == "green"


def test_outage_page_and_status_page_with_every_upstream_down(env: Env) -> None:
    doomed = {service: start_upstream(f"doomed-{service}") for service in env.ports}
    for service, upstream in doomed.items():
        env.switch.route(service, upstream.port)
        assert httpx.get(env.url(service)).text == upstream.name
        stop(upstream.proc)
    env.switch.write_page("outage", "<h1>JobNaut is having trouble</h1>")
    env.switch.write_page("status", "<h1>Incident: search is down</h1>")
    try:
        page = httpx.get(env.url("frontend", "/jobs"), timeout=10)
        assert page.status_code == 503
        assert "having trouble" in page.text
        posted = httpx.post(env.url("frontend", "/saved"), data={"job": "1"}, timeout=10)
        assert posted.status_code == 503 and "having trouble" in posted.text
        api = httpx.get(env.url("backend", "/api/jobs"), timeout=10)
        assert api.status_code == 503
        assert api.headers["retry-after"] == "30"
        assert api.json()["error"]["code"] == "outage"

        status = httpx.get(env.url("frontend", "/status"))
        assert status.status_code == 200
        assert "search is down" in status.text
    finally:
        for service in env.ports:
            env.switch.route(service, env.upstreams["blue"].port)


def test_a_body_over_the_limit_is_refused(env: Env) -> None:
    env.switch.route("backend", env.upstreams["blue"].port)
    response = httpx.post(env.url("backend", "/upload"), content=b"x" * (11 * 1024 * 1024))
    assert response.status_code == 413


# --- canary ----------------------------------------------------------------------------

def test_weighted_route_splits_new_clients_and_a_cookie_keeps_each_on_its_upstream(
        env: Env) -> None:
    blue, green = env.upstreams["blue"], env.upstreams["green"]
    env.switch.set_weights("backend", {blue.port: 80, green.port: 20},
                           releases={blue.port: "r1-blue", green.port: "r2-green"})
    marker = f"split{time.monotonic_ns()}"
    try:
        assert env.switch.routes()["backend"] == f"weighted:{blue.port}=80,{green.port}=20"
        shares: Counter[str] = Counter()
        cookies = {}
        for _ in range(1000):  # each a new client: new connection, no cookie
            status, body, set_cookie = fresh_get(env.ports["backend"], f"/{marker}")
            assert status == 200 and set_cookie.startswith("jobnaut_release=")
            shares[body] += 1
            cookies[body] = set_cookie.split(";")[0]
        assert shares["blue"] + shares["green"] == 1000
        assert 750 <= shares["blue"] <= 850
        # Each response is counted for the release that answered it, not the one the
        # release file names: the guard's and the canary's figures depend on it.
        entries = wait_for_log_entries(env.switch.access_log_path, marker, count=1000)
        named = Counter(str(e["release"]) for e in entries)
        assert named == {"r1-blue": shares["blue"], "r2-green": shares["green"]}
        assert all(e["release"] == ("r1-blue" if e["upstream"] == f"127.0.0.1:{blue.port}"
                                    else "r2-green") for e in entries)

        for name, cookie in cookies.items():
            seen = {fresh_get(env.ports["backend"], cookie=cookie)[1] for _ in range(50)}
            assert seen == {name}
    finally:
        env.switch.route("backend", blue.port, release="blue")
    assert env.switch.routes()["backend"] == f"127.0.0.1:{blue.port}"
    assert {httpx.get(env.url("backend", "/")).text for _ in range(20)} == {"blue"}


def test_split_steps_and_their_end_lose_no_request_keep_sessions_and_never_reload(
        env: Env) -> None:
    """A canary's steps are files read per request: under a stream of new and keep-alive
    clients no request fails, a client stays on the release its cookie names at every
    step, a new share applies from the next new session, and Caddy's config never changes
    (a reload is what dropped connections)."""
    blue, green = env.upstreams["blue"], env.upstreams["green"]
    names = {blue.port: "r1-blue", green.port: "r2-green"}
    env.switch.route("backend", blue.port, release="blue")
    loaded = env.switch._admin("GET", "/config/")
    assert loaded is not None

    def split(percent: int) -> None:
        env.switch.set_weights("backend", {blue.port: 100 - percent, green.port: percent},
                               releases=names)

    def new_sessions(count: int) -> Counter[str]:
        return Counter(fresh_get(env.ports["backend"], "/")[1] for _ in range(count))

    load = Load(env.ports["backend"], "/health")
    threads = load.run(seconds=60, max_requests=30_000)
    try:
        split(95)
        assert new_sessions(40)["green"] >= 30  # Binomial(40, 0.95): below 30 is ~1e-7
        cookies: dict[str, str] = {}
        while len(cookies) < 2:
            status, body, set_cookie = fresh_get(env.ports["backend"], "/")
            assert status == 200
            cookies.setdefault(body, set_cookie.split(";")[0])
        assert cookies == {"blue": "jobnaut_release=r1-blue",
                           "green": "jobnaut_release=r2-green"}
        for step in range(30):
            split((5, 25, 50, 100, 0)[step % 5])
            for name, cookie in cookies.items():
                assert fresh_get(env.ports["backend"], "/", cookie)[1] == name, step
            time.sleep(0.1)
        split(0)
        assert new_sessions(40) == {"blue": 40}
        split(100)
        assert new_sessions(40) == {"green": 40}
    finally:
        env.switch.route("backend", blue.port, release="blue")
        load.stop.set()
        for thread in threads:
            thread.join()
    assert load.failures == []
    assert load.answers["new:blue"] > 0 and load.answers["new:green"] > 0
    assert env.switch._admin("GET", "/config/").json() == loaded.json()  # type: ignore[union-attr]
    # The split ended: the cookies no longer matter, every client is on blue.
    assert {fresh_get(env.ports["backend"], "/", c)[1] for c in cookies.values()} == {"blue"}
    assert env.switch.routes()["backend"] == f"127.0.0.1:{blue.port}"


def test_one_cookie_keeps_a_user_on_one_release_across_services(env: Env) -> None:
    """The page and the API of one user come from the same release during a canary: the
    cookie the backend set is the frontend's too (a browser sends it to every port)."""
    blue, green = env.upstreams["blue"], env.upstreams["green"]
    names = {blue.port: "r1-blue", green.port: "r2-green"}
    try:
        for service in ("backend", "frontend"):
            env.switch.set_weights(service, {blue.port: 50, green.port: 50}, releases=names)
        for _ in range(10):
            _, first, set_cookie = fresh_get(env.ports["backend"], "/")
            cookie = set_cookie.split(";")[0]
            assert {fresh_get(env.ports["frontend"], "/", cookie)[1]
                    for _ in range(10)} == {first}
    finally:
        for service in ("backend", "frontend"):
            env.switch.route(service, blue.port, release="blue")


# --- bad input changes nothing ---------------------------------------------------------

def test_bad_route_and_weights_are_refused_and_change_nothing(env: Env) -> None:
    env.switch.route("backend", env.upstreams["blue"].port)
    before = env.switch.routes()
    with pytest.raises(OpsError) as unknown:
        env.switch.route("search", env.upstreams["green"].port)
    assert unknown.value.exit_code == 2 and "unknown service" in unknown.value.message
    with pytest.raises(OpsError):
        env.switch.route("backend", 70000)
    with pytest.raises(OpsError) as lone:
        env.switch.set_weights("backend", {env.upstreams["green"].port: 100})
    assert lone.value.exit_code == 2
    with pytest.raises(OpsError):
        env.switch.write_page("../../etc/passwd", "x")
    assert env.switch.routes() == before
    assert httpx.get(env.url("backend", "/")).text == "blue"


@pytest.mark.parametrize("settings, message", [
    (dict(ports={"Backend!": 8000}), "bad service name"),
    (dict(ports={"backend": 8000, "frontend": 8000}), "must differ"),
    (dict(ports={"backend": 0}), "bad public port"),
    (dict(ports={"backend": 8000}, tls=TlsSettings()), "either a domain"),
    (dict(ports={"backend": 8000}, tls=TlsSettings(domain="a.example", cert_file=Path("c"),
                                                   key_file=Path("k"))), "either a domain"),
    (dict(ports={"backend": 8000}, run_dir=Path("/tmp/" + "x" * 100)), "too long"),
])
def test_bad_settings_are_refused_before_anything_starts(tmp_path: Path, settings: dict,
                                                         message: str) -> None:
    base = {"run_dir": tmp_path / "run", "log_dir": tmp_path / "logs"}
    with pytest.raises(OpsError) as refused:
        CaddySwitch(SwitchSettings(**{**base, **settings}))
    assert refused.value.exit_code == 2 and message in refused.value.message
    assert not (tmp_path / "run").exists()


def test_config_keeps_admin_off_tcp_and_reads_each_dial_from_a_file(tmp_path: Path) -> None:
    settings = SwitchSettings(run_dir=tmp_path / "run", log_dir=tmp_path / "logs",
                              ports={"backend": 8000, "frontend": 8080})
    config = build_config(settings)
    assert config["admin"] == {"listen": f"unix/{tmp_path}/run/caddy-admin.sock|0600",
                               "config": {"persist": False}}
    for service, port in settings.ports.items():
        server = config["apps"]["http"]["servers"][service]
        assert server["listen"] == [f"127.0.0.1:{port}"]
        proxy = server["routes"][-1]["handle"][0]
        assert proxy["upstreams"] == [{"dial": f"{{file.{tmp_path}/run/upstream-{service}}}"}]


def test_a_taken_public_port_fails_start_with_caddys_reason(short_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        switch = CaddySwitch(SwitchSettings(run_dir=short_dir / "run-taken",
                                            log_dir=short_dir / "logs-taken",
                                            ports={"backend": port}, timeouts=FAST))
        with pytest.raises(OpsError) as failed:
            switch.start()
    assert "address already in use" in failed.value.message
    assert not switch.running()


# --- TLS -------------------------------------------------------------------------------

def make_certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def test_tls_serves_https_with_hsts_and_redirects_http(short_dir: Path,
                                                       upstreams: dict[str, Upstream]) -> None:
    cert_file, key_file = make_certificate(short_dir)
    https_port, http_port = free_port(), free_port()
    switch = CaddySwitch(SwitchSettings(
        run_dir=short_dir / "run-tls", log_dir=short_dir / "logs-tls",
        ports={"frontend": https_port}, listen_host="127.0.0.1", timeouts=FAST,
        tls=TlsSettings(cert_file=cert_file, key_file=key_file,
                        redirect_ports={"frontend": http_port})))
    switch.start()
    try:
        switch.route("frontend", upstreams["green"].port, release="green")
        trust = ssl.create_default_context(cafile=str(cert_file))
        secure = httpx.get(f"https://localhost:{https_port}/jobs", verify=trust)
        assert (secure.status_code, secure.text) == (200, "green")
        assert secure.headers["strict-transport-security"].startswith("max-age=31536000")

        plain = httpx.get(f"http://localhost:{http_port}/jobs?q=python")
        assert plain.status_code == 308
        assert plain.headers["location"] == f"https://localhost:{https_port}/jobs?q=python"
        pid = switch.pid()
        assert pid is not None
        assert listening_tcp_ports(pid) == {https_port, http_port}
    finally:
        switch.stop()
    assert not switch.running()
    assert not switch.layout.admin_socket.exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"https://localhost:{https_port}/", verify=False)


# --- restart, binary -------------------------------------------------------------------

def test_a_restarted_switch_resumes_its_routes_and_start_is_idempotent(env: Env) -> None:
    green = env.upstreams["green"]
    env.switch.route("backend", green.port, release="green")
    env.switch.route("frontend", None)
    pid = env.switch.pid()
    env.switch.start()
    assert env.switch.pid() == pid
    # A switch started by an older JobNaut (another config) gets this one's, in place.
    current = env.switch.layout.config_file.read_text()
    env.switch.layout.config_file.write_text(current.replace("jobnaut_release", "older"))
    env.switch.start()
    assert env.switch.pid() == pid
    assert env.switch.layout.config_file.read_text() == current
    assert env.switch._admin("GET", "/config/").json() == json.loads(current)  # type: ignore[union-attr]
    assert httpx.get(env.url("backend")).text == "green"

    before = env.switch.routes()
    env.switch.stop()
    assert not env.switch.running() and env.switch.pid() is None
    with pytest.raises(httpx.ConnectError):
        httpx.get(env.url("backend"))
    env.switch.start()
    assert env.switch.pid() != pid
    assert env.switch.routes() == before
    assert httpx.get(env.url("backend")).text == "green"
    assert httpx.get(env.url("frontend")).status_code == 503


def test_the_bundled_caddy_runs_and_a_broken_binary_is_a_clear_error(tmp_path: Path) -> None:
    assert check_caddy(caddy_executable()) == caddy_executable()
    impostor = tmp_path / "caddy"
    impostor.write_text("#!/bin/sh\necho 'segmentation fault' >&2\nexit 139\n")
    impostor.chmod(0o755)
    with pytest.raises(OpsError) as broken:
        check_caddy(impostor)
    assert "does not work: segmentation fault" in broken.value.message
    with pytest.raises(OpsError) as missing:
        check_caddy(tmp_path / "nowhere")
    assert "cannot run" in missing.value.message and missing.value.hint


def test_config_for_a_domain_automates_its_certificate_with_hsts(tmp_path: Path) -> None:
    settings = SwitchSettings(run_dir=tmp_path / "run", log_dir=tmp_path / "logs",
                              ports={"frontend": 443},
                              tls=TlsSettings(domain="jobs.example.org",
                                              redirect_ports={"frontend": 80}))
    config = build_config(settings)
    assert config["apps"]["tls"] == {"certificates": {"automate": ["jobs.example.org"]}}
    servers = config["apps"]["http"]["servers"]
    assert servers["frontend"]["listen"] == ["0.0.0.0:443"]
    assert servers["frontend"]["tls_connection_policies"] == [
        {"default_sni": "jobs.example.org"}]
    assert "Strict-Transport-Security" in json.dumps(servers["frontend"]["routes"])
    assert servers["frontend-redirect"]["listen"] == ["0.0.0.0:80"]


# --- jobnaut.toml [switch] ----------------------------------------------------------------

def _home_with(root: Path, switch_section: str) -> Home:
    root.mkdir()
    (root / CONFIG_NAME).write_text(
        f'[environment]\nname = "t"\nsource = "{root}"\n'
        f"[ports]\nbackend = {free_port()}\nfrontend = {free_port()}\n"
        f"[switch]\n{switch_section}\n")
    return load_home(root)


def test_the_environments_tls_settings_serve_https_that_the_control_plane_trusts(
        short_dir: Path, upstreams: dict[str, Upstream]) -> None:
    cert_file, key_file = make_certificate(short_dir)
    http_port = free_port()
    home = _home_with(short_dir / "home-tls", f'certificate = "{cert_file}"\nkey = "{key_file}"\n'
                                              f"redirect_http = {{ frontend = {http_port} }}")
    assert home.config.public_url("frontend") == f"https://localhost:{home.config.frontend_port}"
    traffic.ensure_switch(home)
    try:
        traffic.route(home, "frontend", upstreams["green"].port, "green")
        with checks.http_client(home, 5) as client:  # what verify and status use
            secure = client.get(home.config.public_url("frontend") + "/jobs")
        assert (secure.status_code, secure.text) == (200, "green")
        assert "max-age=" in secure.headers["strict-transport-security"]
        plain = httpx.get(f"http://localhost:{http_port}/jobs")
        assert plain.status_code == 308
        with pytest.raises(httpx.ConnectError):  # an unknown certificate is not trusted
            httpx.get(home.config.public_url("frontend") + "/jobs")
    finally:
        traffic.stop_switch(home)


@pytest.mark.parametrize(("section", "message"), [
    ('engine = "proxy"', "no longer available"),
    ("port = 1", "unknown [switch] setting port"),
    ("redirect_http = { frontend = 80 }", "needs HTTPS"),
    ("redirect_http = { mail = 80 }", "unknown service"),
    ("max_body_mb = 0", "at least 1"),
])
def test_bad_switch_settings_in_jobnaut_toml_are_refused(tmp_path: Path, section: str,
                                                         message: str) -> None:
    with pytest.raises(OpsError, match="invalid setting") as refused:
        _home_with(tmp_path / "home", section)
    assert message in str(refused.value)
