"""A real three-node Docker Swarm on this one machine, for the swarm driver's tests.

Each node is its own dockerd in its own network namespace, joined to the others through a
veth into a shared "bridge" namespace (10.234.0.N/24). Nothing on the host changes: every
interface is made inside a namespace (`ip -n`), no route or iptables rule is added, and the
daemons use the private engine's flags (scripts/docker-engine) with their own data root,
exec root, pidfile and socket under one folder. `teardown()` removes all of it: daemons,
namespaces (their veths go with them), mounts (they live in the daemons' own mount
namespaces) and the folder.

dockerd runs under `unshare --mount --uts`: sysfs is mounted again so that the daemon sees
its namespace's interfaces, and /sys/fs/cgroup is carried over into it (without it: "Devices
cgroup isn't mounted"); the hostname names the node.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

SUBNET = "10.234.0"
TMPFS_SIZE = "8g"  # an upper bound: a node holds the base and a few release images
CLONE_NEWNET = 0x40000000
NODE_SCRIPT = r"""
set -e
mkdir -p "$NODE/cgroup"
mount --rbind /sys/fs/cgroup "$NODE/cgroup"
mount -t sysfs sysfs /sys
mount --move "$NODE/cgroup" /sys/fs/cgroup
hostname "$NAME"
exec dockerd --data-root "$NODE/data" --exec-root "$NODE/exec" --pidfile "$NODE/dockerd.pid" \
  --host "unix://$NODE/docker.sock" --iptables=false --ip6tables=false --ip-forward=false \
  --bridge=none --exec-opt native.cgroupdriver=cgroupfs
"""


@dataclass
class Node:
    name: str
    netns: str
    address: str
    folder: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"unix://{self.folder}/docker.sock"

    def docker(self, *args: str, timeout: float = 120, check: bool = True) -> str:
        result = subprocess.run(["docker", "--host", self.host, *args], capture_output=True,
                                text=True, timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args)} on {self.name}: {result.stderr}")
        return result.stdout

    def answers(self) -> bool:
        return subprocess.run(["docker", "--host", self.host, "version"],
                              capture_output=True, timeout=30, check=False).returncode == 0


@dataclass
class SwarmCluster:
    """Three nodes; node 1 is the manager and the edge (the switch runs in its namespace)."""

    prefix: str
    root: Path
    nodes: list[Node] = field(default_factory=list)
    relays: list[subprocess.Popen[bytes]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def manager(self) -> Node:
        return self.nodes[0]

    @property
    def bridge(self) -> str:
        return f"{self.prefix}-br"

    # Up ----------------------------------------------------------------------------------

    def up(self, size: int = 3) -> None:
        started = time.monotonic()
        # The nodes' data roots on a tmpfs of their own: images unpack and containers start
        # at memory speed, and teardown is an unmount, not the unlinking of every layer's
        # files one by one (minutes on a busy disk).
        self.root.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0700",
                        f"{self.prefix}-data", str(self.root)], check=True, capture_output=True)
        _ip("netns", "add", self.bridge)
        _ip("-n", self.bridge, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.bridge, "link", "set", "br0", "up")
        for n in range(1, size + 1):
            node = Node(f"{self.prefix}-n{n}", f"{self.prefix}-n{n}", f"{SUBNET}.{n}",
                        self.root / f"n{n}")
            self.nodes.append(node)
            _ip("netns", "add", node.netns)
            _ip("-n", node.netns, "link", "add", "eth0", "type", "veth",
                "peer", "name", f"v{n}", "netns", self.bridge)
            _ip("-n", self.bridge, "link", "set", f"v{n}", "master", "br0", "up")
            _ip("-n", node.netns, "addr", "add", f"{node.address}/24", "dev", "eth0")
            _ip("-n", node.netns, "link", "set", "eth0", "up")
            _ip("-n", node.netns, "link", "set", "lo", "up")
            self.start(node)
        for node in self.nodes:
            self.wait(node)
        self.timings["daemons"] = time.monotonic() - started
        begun = time.monotonic()
        self.manager.docker("swarm", "init", "--advertise-addr", self.manager.address,
                            "--listen-addr", f"{self.manager.address}:2377")
        token = self.manager.docker("swarm", "join-token", "-q", "worker").strip()
        for node in self.nodes[1:]:
            node.docker("swarm", "join", "--token", token, "--advertise-addr", node.address,
                        f"{self.manager.address}:2377")
        self.timings["swarm"] = time.monotonic() - begun
        self.timings["up"] = time.monotonic() - started

    def start(self, node: Node) -> None:
        node.folder.mkdir(parents=True, exist_ok=True)
        log = (node.folder / "dockerd.log").open("ab")
        node.process = subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{node.netns}", "unshare", "--mount", "--uts",
             "--propagation", "slave", "sh", "-c", NODE_SCRIPT],
            env={**os.environ, "NODE": str(node.folder), "NAME": node.name},
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)

    def wait(self, node: Node, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if node.answers():
                return
            if node.process is not None and node.process.poll() is not None:
                break
            time.sleep(0.1)
        log = (node.folder / "dockerd.log").read_text(errors="replace")[-800:]
        raise RuntimeError(f"dockerd of {node.name} did not answer: {log}")

    def import_image(self, tarball: Path, tag: str, nodes: list[Node] | None = None) -> None:
        """A rootfs tarball (scripts/docker-engine's cached base) imported on the nodes."""
        for node in nodes or self.nodes:
            with tarball.open("rb") as data:
                subprocess.run(["docker", "--host", node.host, "import", "-", tag], stdin=data,
                               capture_output=True, check=True, timeout=600)

    def copy_image(self, source_host: str, image: str, nodes: list[Node] | None = None) -> None:
        """An image of another engine (the private one) loaded on the nodes (default all)."""
        saved = subprocess.run(["docker", "--host", source_host, "save", image],
                               capture_output=True, check=True, timeout=600).stdout
        for node in nodes or self.nodes:
            subprocess.run(["docker", "--host", node.host, "load", "--quiet"], input=saved,
                           capture_output=True, check=True, timeout=600)

    # PostgreSQL, the nodes' way in --------------------------------------------------------

    def relay(self, port: int) -> str:
        """A server on the machine's loopback `port` (PostgreSQL) reached by every node at
        the manager's address: a relay on each side of a unix socket (files cross network
        namespaces, and the host's network is left alone). Returns host:port for the nodes."""
        sock = self.root / f"relay-{port}.sock"
        for command in (
                ["socat", f"UNIX-LISTEN:{sock},fork", f"TCP:127.0.0.1:{port}"],
                ["nsenter", f"--net=/run/netns/{self.manager.netns}", "socat",
                 f"TCP-LISTEN:{port},bind={self.manager.address},reuseaddr,fork",
                 f"UNIX-CONNECT:{sock}"]):
            self.relays.append(subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL, start_new_session=True))
            deadline = time.monotonic() + 10
            while not sock.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        return f"{self.manager.address}:{port}"

    # A node's loss -----------------------------------------------------------------------

    def stop_node(self, node: Node) -> None:
        """The node's daemon killed (its containers go with it): as a machine lost."""
        if node.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(node.process.pid, signal.SIGKILL)
            node.process.wait(timeout=30)
            node.process = None
        _kill_in_netns(node.netns)

    def restart_node(self, node: Node) -> None:
        self.start(node)
        self.wait(node)

    # Teardown ----------------------------------------------------------------------------

    def teardown(self) -> float:
        started = time.monotonic()
        for relay in self.relays:
            relay.kill()
            relay.wait(timeout=30)
        for node in self.nodes:
            if node.process is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(node.process.pid, signal.SIGTERM)
        for node in self.nodes:
            if node.process is not None:
                try:
                    node.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(node.process.pid, signal.SIGKILL)
                    node.process.wait(timeout=15)
            _kill_in_netns(node.netns)  # containerd shims and tasks left behind
        for name in [n.netns for n in self.nodes] + [self.bridge]:
            subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)
        # The daemons' mounts lived in their own mount namespaces, gone with them; then the
        # tmpfs (and anything else the host shows under the folder) is unmounted.
        for mount in reversed(_mounts_under(self.root)):
            subprocess.run(["umount", "-l", mount], capture_output=True, check=False)
        shutil.rmtree(self.root, ignore_errors=True)  # empty once the tmpfs is gone
        self.timings["teardown"] = time.monotonic() - started
        return self.timings["teardown"]

    def leftovers(self) -> list[str]:
        """What of this cluster is still on the machine (empty after teardown)."""
        found = [f"netns {n}" for n in _netns() if n.startswith(self.prefix)]
        found += [f"mount {m}" for m in _mounts_under(self.root)]
        found += [f"process {p}" for p in _processes_mentioning(str(self.root))]
        if self.root.exists():
            found.append(f"folder {self.root}")
        return found


@contextlib.contextmanager
def inside(netns: str) -> Iterator[None]:
    """This thread (and what it starts: threads, processes) in the node's network namespace:
    the tests' clients and `jobnaut` commands run where the edge's switch listens."""
    libc = ctypes.CDLL(None, use_errno=True)
    with open("/proc/thread-self/ns/net", "rb") as back:
        with open(f"/run/netns/{netns}", "rb") as there:
            if libc.setns(there.fileno(), CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns into {netns}")
        try:
            yield
        finally:
            if libc.setns(back.fileno(), CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back")


def can_run() -> str | None:
    """Why a cluster cannot be made here (None: it can)."""
    if os.getuid() != 0:
        return "a swarm cluster in network namespaces needs root"
    for tool in ("dockerd", "docker", "ip", "nsenter", "unshare", "socat"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


def _netns() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                         check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def _kill_in_netns(netns: str) -> None:
    out = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True,
                         check=False).stdout
    for pid in out.split():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)


def _mounts_under(root: Path) -> list[str]:
    mounts = Path("/proc/self/mounts").read_text().splitlines()
    return [m.split()[1] for m in mounts if m.split()[1].startswith(str(root))]


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found
