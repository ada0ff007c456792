"""Free ports, waiting, and `courierd` run as a real subprocess.

`courierd_process` starts `courierd run` with a given environment (nothing
inherited from the caller's COURIER_* variables), writes its logs to a file
under test-artifacts/, waits for /healthz and stops it with SIGTERM on exit;
`DaemonProcess.kill()` is the SIGKILL a crash test needs. `launch` starts
any other `courierd` command the same way (e.g. `standin-erp`).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
T = TypeVar("T")


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_until(probe: Callable[[], T], timeout: float, what: str, interval: float = 0.05) -> T:
    """Call `probe` until it returns something truthy; that value, or AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def artifact_path(name: str) -> Path:
    """A file under test-artifacts/ (created on demand), kept after the run."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name


def courierd_command() -> list[str]:
    """The installed console script next to this interpreter, else the module."""
    script = Path(sys.executable).with_name("courierd")
    return [str(script)] if script.exists() else [sys.executable, "-m", "courierd.cli"]


def clean_environ(extra: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment without any COURIER_* key, plus `extra`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("COURIER_")}
    return base | dict(extra)


def run_courierd(
    args: list[str], env: Mapping[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`courierd <args>` to completion (e.g. check-config), output captured."""
    return subprocess.run(
        [*courierd_command(), *args],
        env=clean_environ(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def http_get(url: str, timeout: float = 5) -> tuple[int, str]:
    """(status, body) of a GET; (0, reason) when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except OSError as exc:
        return 0, str(exc)


@dataclass
class DaemonProcess:
    process: subprocess.Popen[bytes]
    log_path: Path
    http_url: str
    _log_file: IO[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def healthz(self) -> tuple[int, dict[str, Any] | str]:
        status, body = http_get(self.http_url + "/healthz")
        try:
            return status, json.loads(body)
        except ValueError:
            return status, body

    def metrics(self) -> str:
        return http_get(self.http_url + "/metrics")[1]

    def metric(self, name: str) -> float | None:
        """One unlabelled sample of /metrics (e.g. courier_report_spool_depth)."""
        for line in self.metrics().splitlines():
            sample, _, value = line.partition(" ")
            if sample == name:
                return float(value)
        return None

    def log_text(self) -> str:
        self._log_file.flush()
        return self.log_path.read_text(errors="replace")

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM and wait; returns the exit code (SIGKILL if it does not stop)."""
        if self.running():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log_file.flush()
        return int(self.process.returncode)

    def close_log(self) -> None:
        self._log_file.close()

    def kill(self) -> int:
        """SIGKILL (kill -9): no chance to finish the batch or flush anything."""
        if self.running():
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)
        self._log_file.flush()
        return int(self.process.returncode)


def launch(
    args: list[str],
    env: Mapping[str, str],
    log_name: str,
    base_url: str,
    health_path: str,
    *,
    wait_healthy: bool = True,
    timeout: float = 30,
) -> DaemonProcess:
    """`courierd <args>` in the background, logging to test-artifacts/<log_name>.

    With `wait_healthy`, returns once `base_url + health_path` answers 200.
    """
    log_path = artifact_path(log_name)
    log_file = log_path.open("ab")
    log_file.write(f"----- courierd {' '.join(args)} ({time.strftime('%H:%M:%S')})\n".encode())
    log_file.flush()
    process = subprocess.Popen(
        [*courierd_command(), *args],
        env=clean_environ(env),
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    daemon = DaemonProcess(process, log_path, base_url, log_file)
    if not wait_healthy:
        return daemon
    try:
        wait_until(
            lambda: not daemon.running() or http_get(base_url + health_path)[0] == 200,
            timeout,
            f"courierd {args[0]} at {base_url + health_path} (log: {log_path})",
        )
    except AssertionError:
        daemon.kill()
        log_file.close()
        raise
    if not daemon.running():
        log_file.close()
        raise AssertionError(
            f"courierd {args[0]} exited with {process.returncode} at start; log: {log_path}\n"
            + log_path.read_text(errors="replace")[-3000:]
        )
    return daemon


def start_courierd(
    env: Mapping[str, str], log_name: str, *, wait_healthy: bool = True, timeout: float = 30
) -> DaemonProcess:
    """Launch `courierd run`; COURIER_HTTP_PORT must be in `env`."""
    host = env.get("COURIER_HTTP_HOST", "127.0.0.1")
    base_url = f"http://{host}:{env['COURIER_HTTP_PORT']}"
    return launch(
        ["run"], env, log_name, base_url, "/healthz", wait_healthy=wait_healthy, timeout=timeout
    )


@contextmanager
def courierd_process(
    env: Mapping[str, str], log_name: str, *, wait_healthy: bool = True, timeout: float = 30
) -> Iterator[DaemonProcess]:
    """`courierd run` for the duration of the block, stopped with SIGTERM at the end."""
    daemon = start_courierd(env, log_name, wait_healthy=wait_healthy, timeout=timeout)
    try:
        yield daemon
    finally:
        daemon.terminate()
        daemon.close_log()
