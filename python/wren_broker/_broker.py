"""Start and stop the `wren` binary; read its ready lines."""

from __future__ import annotations

import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
from pathlib import Path
from typing import Any, Optional

from .control import Control

LISTEN_RE = re.compile(r"^wren listening on (\S+)$")
CONTROL_RE = re.compile(r"^wren control on (\S+)$")
BROKER_RE = re.compile(r"^wren broker (\d+) listening on (\S+)$")
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0
_EXE = "wren.exe" if sys.platform == "win32" else "wren"


class WrenError(RuntimeError):
    """The broker could not be started or did not stop cleanly."""


def binary_path() -> Path:
    """The `wren` binary: $WREN_BIN, else the one this wheel installed, else the first on PATH."""
    env = os.environ.get("WREN_BIN")
    if env:
        return Path(env)
    # The wheel installs the binary as a script of the environment it is installed into.
    schemes = [sysconfig.get_path("scripts")]
    try:
        schemes.append(sysconfig.get_path("scripts", f"{os.name}_user"))
    except KeyError:
        pass
    for scripts in schemes:
        candidate = Path(scripts) / _EXE
        if candidate.is_file():
            return candidate
    found = shutil.which("wren")
    if found:
        return Path(found)
    raise WrenError("no wren binary: install wren-broker, or set WREN_BIN")


@functools.lru_cache(maxsize=None)
def supports_control(binary: str) -> bool:
    """Whether this binary has the HTTP control listener (`--control`)."""
    out = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30)
    return "--control" in out.stdout


def config_env(config: dict[str, Any]) -> dict[str, str]:
    """`num_partitions=3` or `{"num.partitions": 3}` -> `WREN_NUM_PARTITIONS=3` (Kafka key names)."""
    env = {}
    for key, value in config.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        env["WREN_" + key.replace(".", "_").upper()] = str(value)
    return env


def _die_with_parent() -> None:
    """Linux: the broker gets SIGKILL if the process that started it dies (a killed test run)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class Broker:
    """A running `wren` process. Use as a context manager, or call `stop()`."""

    def __init__(self, binary: Path, args: list[str], env: dict[str, str], control: bool, brokers: int = 1):
        self.binary = binary
        self._stderr = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(
            [str(binary), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=env,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        self.bootstrap_servers: str = ""
        # Broker id -> HOST:PORT: one entry, or N with `brokers=N`.
        self.brokers: dict[int, str] = {}
        self._control: Optional[Control] = None
        self._want_control = control
        self._want_brokers = brokers
        self._read_ready_lines()

    def _read_ready_lines(self) -> None:
        # `wren listening on` (the first broker), then with brokers=N one `wren broker ID
        # listening on` line per broker, then `wren control on` when asked for.
        lines: list[str] = []
        ready = threading.Event()
        want_control = self._want_control
        want_brokers = self._want_brokers if self._want_brokers > 1 else 0

        def done() -> bool:
            listening = any(LISTEN_RE.match(x) for x in lines)
            brokers = sum(1 for x in lines if BROKER_RE.match(x))
            control = not want_control or any(CONTROL_RE.match(x) for x in lines)
            return listening and brokers >= want_brokers and control

        def drain(stdout=self._proc.stdout):
            # Keep reading after the ready lines so the broker never blocks on a full pipe.
            for line in stdout:
                if not ready.is_set():
                    lines.append(line.rstrip("\n"))
                    if done():
                        ready.set()
            ready.set()

        threading.Thread(target=drain, daemon=True).start()
        if not ready.wait(START_TIMEOUT_S) or not done():
            self._kill()
            raise WrenError(f"wren did not start: {lines!r} {self.stderr_tail()}")
        for line in lines:
            if m := BROKER_RE.match(line):
                self.brokers[int(m[1])] = m[2]
            elif m := LISTEN_RE.match(line):
                self.bootstrap_servers = m[1]
            elif m := CONTROL_RE.match(line):
                self._control = Control(m[1])
        self.brokers = self.brokers or {1: self.bootstrap_servers}

    @property
    def control(self) -> Control:
        """The HTTP control plane: topics, faults, clock, reset, the request log."""
        if self._control is None:
            raise WrenError(f"{self.binary} has no control listener (--control); use a newer wren")
        return self._control

    @property
    def has_control(self) -> bool:
        return self._control is not None

    @property
    def pid(self) -> int:
        return self._proc.pid

    def alive(self) -> bool:
        return self._proc.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM, then wait for the clean exit (status 0) that flushes and removes ephemeral data."""
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
        try:
            rc = self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._kill()
            raise WrenError(f"wren did not stop within {timeout}s: {self.stderr_tail()}") from None
        finally:
            self._proc.stdout and self._proc.stdout.close()
        if rc != 0:
            raise WrenError(f"wren exited with status {rc}: {self.stderr_tail()}")

    def _kill(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait(10)

    def stderr_tail(self, limit: int = 4000) -> str:
        """What wren wrote to stderr: its start (where an error is) and its end, at most `limit`."""
        self._stderr.seek(0)
        text = re.sub(r"\x1b\[[0-9;]*m", "", self._stderr.read().decode("utf-8", "replace"))
        if len(text) <= limit:
            return text
        return text[: limit // 2] + "\n...\n" + text[-limit // 2 :]

    def __enter__(self) -> "Broker":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<wren_broker.Broker {self.bootstrap_servers} pid={self._proc.pid}>"


def start(
    *,
    listen: str = "127.0.0.1:0",
    data_dir: Optional[os.PathLike] = None,
    control: Optional[bool] = None,
    config: Optional[dict[str, Any]] = None,
    binary: Optional[os.PathLike] = None,
    brokers: int = 1,
    **kwargs: Any,
) -> Broker:
    """Start a broker and return once it accepts connections.

    Keyword arguments are broker config keys with underscores for dots (`num_partitions=3`,
    `auto_create_topics_enable=False`); `config` takes Kafka's dotted names too. They reach the
    broker as WREN_<KEY> variables; WREN_* variables of this process are not passed on (except
    WREN_LOG), so a test sees only what it asked for. Data is in a temporary directory removed
    at stop unless `data_dir` is given. `control=None` serves the control listener when the
    binary has one. `brokers=3` simulates a three-broker cluster in the one process (ids 1..3,
    each its own listener, `Broker.brokers`); the control plane stops and starts them.
    """
    exe = Path(binary) if binary else binary_path()
    has_control = supports_control(str(exe))
    if control and not has_control:
        raise WrenError(f"{exe} has no control listener (--control)")
    control = has_control if control is None else control
    env = {k: v for k, v in os.environ.items() if not k.startswith("WREN_") or k == "WREN_LOG"}
    env.update(config_env({**(config or {}), **kwargs}))
    args = ["--listen", listen]
    args += ["--data-dir", os.fspath(data_dir)] if data_dir is not None else ["--ephemeral"]
    if control:
        args += ["--control", "127.0.0.1:0"]
    if brokers != 1:
        args += ["--brokers", str(int(brokers))]
    return Broker(exe, args, env, control, int(brokers))
