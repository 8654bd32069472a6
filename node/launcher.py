"""Start and stop real `tiersync serve` processes on loopback: for the demo, tests and benchmarks.

Each node is a separate process with its own data directory, configured only through TIERSYNC_*
environment variables, exactly as an operator would run it.
"""

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from node.tls import Issued, init_ca, issue
from schemas.codes import level_of


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def tiersync_command() -> list[str]:
    """The console script next to this interpreter (node/cli/entry.py), else `python -m
    node.cli.main`."""
    script = Path(sys.executable).parent / "tiersync"
    return [str(script)] if script.exists() else [sys.executable, "-m", "node.cli.main"]


@dataclass
class NodeSpec:
    code: str
    name: str
    data_dir: Path
    port: int
    host: str = "127.0.0.1"
    parent: "NodeSpec | None" = None
    token: str | None = None  # its credential at its parent
    database_url: str | None = None
    operator_token: str | None = None  # an operator's API token at this node (demo, tests)
    extra_env: dict[str, str] = field(default_factory=dict)
    tls: Issued | None = None  # its certificate (node/tls.py): served over HTTPS
    command: list[str] | None = None  # another `tiersync` (e.g. an older release); default ours

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def ssl_context(self) -> ssl.SSLContext | None:
        """What a client of this node verifies it with (its CA), when it serves HTTPS."""
        return ssl.create_default_context(cafile=str(self.tls.ca)) if self.tls else None

    @property
    def auth(self) -> dict[str, str]:
        """The operator's Authorization header (none before a user is added)."""
        return {"Authorization": f"Bearer {self.operator_token}"} if self.operator_token else {}

    def top(self) -> "NodeSpec":
        return self if self.parent is None else self.parent.top()

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TIERSYNC_")}
        env.update(
            TIERSYNC_CODE=self.code,
            TIERSYNC_NAME=self.name,
            TIERSYNC_LEVEL=level_of(self.code).value,
            TIERSYNC_DATA_DIR=str(self.data_dir),
        )
        if self.database_url:
            env["TIERSYNC_DATABASE_URL"] = self.database_url
        if self.tls is not None:
            env["TIERSYNC_TLS_CERT"] = str(self.tls.cert)
            env["TIERSYNC_TLS_KEY"] = str(self.tls.key)
        if self.parent is not None:
            env["TIERSYNC_PARENT_URL"] = self.parent.url
            if self.parent.tls is not None:
                env["TIERSYNC_PARENT_CA"] = str(self.parent.tls.ca)
            if self.token:
                env["TIERSYNC_PARENT_TOKEN"] = self.token
            key = self.top().data_dir / "hash.key"  # as `tiersync child add` printed it
            if key.is_file():
                env["TIERSYNC_HASH_KEY"] = key.read_text(encoding="ascii").strip()
        env.update(self.extra_env)
        return env


def run_cli(spec: NodeSpec, *args: str, timeout: float = 60) -> str:
    """Run a `tiersync` command with a node's configuration; its stdout, or raise with stderr."""
    done = subprocess.run(
        [*(spec.command or tiersync_command()), *args],
        env=spec.env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"tiersync {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return done.stdout


def create(spec: NodeSpec) -> None:
    """`tiersync init`: create the node (its database), as an operator installing it would;
    every other command refuses a data directory that holds no node."""
    run_cli(spec, "init", "--config", str(spec.data_dir / "tiersync.toml"), "--force")


def add_operator(spec: NodeSpec, name: str = "operator", role: str = "operator") -> str:
    """`tiersync user add` at the node; keeps the token (the output's last line) on the spec."""
    output = run_cli(spec, "user", "add", name, "--role", role)
    token = output.strip().splitlines()[-1]
    if role == "operator":
        spec.operator_token = token
    return token


def secure(ca_holder: NodeSpec, specs: list[NodeSpec]) -> None:
    """TLS for a whole topology: a CA at `ca_holder` (`tiersync ca init`) and a certificate
    for every node's host, each in its own data directory."""
    init_ca(ca_holder.data_dir, name=ca_holder.name, force=True)
    for spec in specs:
        spec.tls = issue(
            ca_holder.data_dir, code=spec.code, hosts=[spec.host], out=spec.data_dir / "tls"
        )


def enrol(parent: NodeSpec, child: NodeSpec) -> None:
    """`tiersync child add` at the parent; the credential is the output's last line."""
    output = run_cli(parent, "child", "add", child.code, "--name", child.name)
    child.parent = parent
    child.token = output.strip().splitlines()[-1]


@dataclass
class NodeProcess:
    spec: NodeSpec
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> "NodeProcess":
        self.spec.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(
                [
                    *(self.spec.command or tiersync_command()),
                    "serve",
                    "--host",
                    self.spec.host,
                    "--port",
                    str(self.spec.port),
                    "--log-level",
                    "warning",
                ],
                env=self.spec.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C at the demo's terminal is handled by the demo
            )
        return self

    def wait_healthy(self, timeout: float = 90) -> None:
        """Until /healthz answers 200 (a few seconds; far more on a loaded machine, where the
        imports alone can take half a minute); past `timeout` the error quotes the node's log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"node {self.spec.code} exited with {self.process.returncode}; its log ends:\n"
                    f"{self.log_tail()}"
                )
            try:
                url, context = self.spec.url + "/healthz", self.spec.ssl_context()
                with urllib.request.urlopen(url, timeout=1, context=context) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        raise TimeoutError(
            f"node {self.spec.code} not healthy within {timeout} s; its log ends:\n"
            f"{self.log_tail()}"
        )

    @property
    def log_file(self) -> Path:
        """Where the process writes its output: `log_path`, else serve.log in its data dir."""
        return self.log_path or self.spec.data_dir / "serve.log"

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError as exc:
            return f"(no log: {exc})"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks run, as in a power cut."""
        self._signal(signal.SIGKILL)

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM and wait; SIGKILL if it does not stop in time."""
        if not self.alive:
            return
        self._signal(signal.SIGTERM)
        try:
            assert self.process is not None
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def _signal(self, signum: int) -> None:
        if self.alive:
            assert self.process is not None
            self.process.send_signal(signum)
            if signum == signal.SIGKILL:
                self.process.wait(10)


def stop_all(processes: list[NodeProcess]) -> None:
    for proc in reversed(processes):
        proc.stop()
