"""Shared fixtures for the real-client tests.

The `broker` fixture starts the Wren binary ($WREN_BIN, default <repo>/target/debug/wren) with
`--listen 127.0.0.1:0 --data-dir <tmp>`, waits for its `wren listening on HOST:PORT` line (with
`--brokers N`, N `wren broker ID listening on HOST:PORT` lines follow it) and yields a handle
with `.bootstrap` and `.restart()`. The `cluster` fixture starts `--brokers 3` with the control
listener; `.brokers` maps each broker id to its address (cluster_control.py drives it).  At teardown it sends SIGTERM and
asserts that the broker exits with status 0 (the documented clean-shutdown contract).

Development only: WREN_TEST_EXTERNAL_BOOTSTRAP=host:port points the tests at an already running
Kafka-compatible cluster instead (e.g. librdkafka's mock cluster, which has no CreateTopics /
DeleteTopics; see `external` below).  Never set in CI.
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

# Make `common.py` (next to this file) importable from the test modules.
sys.path.insert(0, str(Path(__file__).resolve().parent))

REPO = Path(__file__).resolve().parents[3]
LISTEN_RE = re.compile(r"^wren listening on (?P<host>[^\s:]+|\[[^\]]+\]):(?P<port>\d+)$")
CONTROL_RE = re.compile(r"^wren control on (?P<addr>\S+)$")
BROKER_RE = re.compile(r"^wren broker (?P<id>\d+) listening on (?P<addr>\S+)$")
# The harness's own WREN_* variables.  Wren reads every other WREN_<KEY> variable as a broker
# config key (and rejects unknown keys), so these are not passed on to the broker.
HARNESS_VARS = {"WREN_BIN", "WREN_SKIP_BUILD", "WREN_CLIENT_SUITES", "WREN_TEST_RECORDS",
                "WREN_START_TIMEOUT", "WREN_STOP_TIMEOUT", "WREN_TEST_EXTERNAL_BOOTSTRAP"}
START_TIMEOUT_S = float(os.environ.get("WREN_START_TIMEOUT", "30"))
STOP_TIMEOUT_S = float(os.environ.get("WREN_STOP_TIMEOUT", "30"))


def _die_with_parent():
    """Linux: SIGKILL the broker if the test process dies (e.g. an outer CI timeout)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def wren_bin() -> Path:
    return Path(os.environ.get("WREN_BIN", REPO / "target" / "debug" / "wren"))


class WrenBroker:
    """A Wren process on a data directory that survives restarts."""

    external = False

    def __init__(self, data_dir: Path, log_dir: Path, extra_args=()):
        self.data_dir = data_dir
        self.extra_args = list(extra_args)
        self.log_dir = log_dir
        self.proc = None
        self.bootstrap = None
        self.starts = 0
        self.exit_codes = []
        # http://HOST:PORT of the control listener, when started with --control.
        self.control = None
        # Broker id -> HOST:PORT, from the `wren broker ID listening on` lines.
        self.brokers = {}

    # -- lifecycle -----------------------------------------------------------------------
    def start(self):
        binary = wren_bin()
        if not binary.exists():
            pytest.fail(f"Wren binary not found at {binary} (build it or set WREN_BIN)")
        self.starts += 1
        self._stderr = open(self.log_dir / f"wren-{self.starts}.stderr.log", "wb")
        self._stdout_log = open(self.log_dir / f"wren-{self.starts}.stdout.log", "w")
        env = {k: v for k, v in os.environ.items() if k not in HARNESS_VARS}
        env.setdefault("RUST_BACKTRACE", "1")
        self.proc = subprocess.Popen(
            [str(binary), "--listen", "127.0.0.1:0", "--data-dir", str(self.data_dir), *self.extra_args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=env,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        line_box = []
        reader_done = threading.Event()
        control_box = []
        control_seen = threading.Event()
        brokers = {}
        brokers_seen = threading.Event()
        want_brokers = self.broker_count()

        def read_stdout(proc=self.proc, log=self._stdout_log):
            # The ready line comes first, then (with --brokers N) one line per broker, then the
            # control line when asked for; keep draining afterwards so a chatty broker can never
            # block on a full pipe.
            for line in proc.stdout:
                log.write(line)
                log.flush()
                text = line.rstrip("\n")
                if LISTEN_RE.match(text) and not line_box:
                    line_box.append(text)
                    reader_done.set()
                elif (b := BROKER_RE.match(text)) and not brokers_seen.is_set():
                    brokers[int(b["id"])] = b["addr"]
                    if len(brokers) == want_brokers:
                        brokers_seen.set()
                elif (c := CONTROL_RE.match(text)) and not control_box:
                    control_box.append(c["addr"])
                    control_seen.set()
            reader_done.set()
            control_seen.set()
            brokers_seen.set()

        threading.Thread(target=read_stdout, daemon=True).start()
        if not reader_done.wait(START_TIMEOUT_S):
            self.proc.kill()
            self.proc.wait(10)
            pytest.fail(f"wren printed no listening line within {START_TIMEOUT_S}s\n{self.logs()}")
        if not line_box:
            rc = self.proc.wait(10)
            pytest.fail(f"wren exited (status {rc}) before printing its listening line\n{self.logs()}")
        m = LISTEN_RE.match(line_box[0])
        self.bootstrap = f"{m['host']}:{m['port']}"
        if want_brokers > 1:
            if not brokers_seen.wait(START_TIMEOUT_S) or len(brokers) != want_brokers:
                pytest.fail(f"wren printed {len(brokers)} of {want_brokers} broker lines\n{self.logs()}")
            self.brokers = dict(brokers)
        else:
            self.brokers = {1: self.bootstrap}
        if "--control" in self.extra_args:
            if not control_seen.wait(START_TIMEOUT_S) or not control_box:
                pytest.fail(f"wren printed no control line\n{self.logs()}")
            self.control = f"http://{control_box[0]}"
        return self

    def broker_count(self):
        """N of `--brokers N` among the extra args (1 without it)."""
        args = self.extra_args
        return int(args[args.index("--brokers") + 1]) if "--brokers" in args else 1

    def stop(self, check=True):
        """SIGTERM and wait; with check=True assert the documented exit status 0."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
            self._close_logs()
            if check:
                pytest.fail(f"wren did not exit within {STOP_TIMEOUT_S}s of SIGTERM\n{self.logs()}")
            return None
        self._close_logs()
        self.exit_codes.append(rc)
        if check:
            assert rc == 0, f"wren exited with status {rc} after SIGTERM (expected 0)\n{self.logs()}"
        return rc

    def restart(self):
        """Clean shutdown (SIGTERM, exit 0) and start again on the same data dir.

        The port may change; `.bootstrap` is updated.  Clients must reconnect."""
        self.stop(check=True)
        return self.start()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    # -- diagnostics ---------------------------------------------------------------------
    def _close_logs(self):
        for f in (getattr(self, "_stderr", None), getattr(self, "_stdout_log", None)):
            try:
                f and f.close()
            except Exception:
                pass

    def logs(self, tail_bytes=6000):
        out = []
        for p in sorted(self.log_dir.glob("wren-*.log")):
            data = re.sub(r"\x1b\[[0-9;]*m", "", p.read_bytes().decode("utf-8", "replace"))[-tail_bytes:]
            out.append(f"----- {p.name} (last {tail_bytes} bytes) -----\n{data}")
        return "\n".join(out)


class ExternalBroker:
    """Development aid: an already running cluster (no restart, no exit-status check)."""

    external = True

    def __init__(self, bootstrap):
        self.bootstrap = bootstrap

    def restart(self):
        pytest.skip("restart needs a broker started by the fixture (WREN_TEST_EXTERNAL_BOOTSTRAP set)")

    def alive(self):
        return True

    def logs(self, tail_bytes=0):
        return ""


# Fault rules (wren --fault): three produce requests, spread over the run, are appended and then
# their connection dropped without an answer, so idempotent producers must retry. Each rule
# counts the produce requests the rules before it let through.
DROPPED_PRODUCE_FAULTS = [
    '{"api":"Produce","action":"drop_response","after":%d,"count":1}' % after for after in (3, 12, 25)
]


@pytest.fixture
def broker(tmp_path, request):
    yield from _broker(tmp_path, request, [])


@pytest.fixture
def controlled_broker(tmp_path, request):
    """A broker with its control listener on (`.control` is its http://HOST:PORT)."""
    if os.environ.get("WREN_TEST_EXTERNAL_BOOTSTRAP"):
        pytest.skip("needs a broker started by the fixture")
    yield from _broker(tmp_path, request, ["--control", "127.0.0.1:0"])


@pytest.fixture
def cluster(tmp_path, request):
    """Three brokers in one process (`--brokers 3`) with the control listener on; `.bootstrap`
    is the first broker, `.brokers` every broker's address (cluster_control.bootstrap_all)."""
    if os.environ.get("WREN_TEST_EXTERNAL_BOOTSTRAP"):
        pytest.skip("needs a cluster started by the fixture")
    yield from _broker(tmp_path, request, ["--brokers", "3", "--control", "127.0.0.1:0"])


@pytest.fixture
def faulty_broker(tmp_path, request):
    yield from _broker(tmp_path, request, [a for f in DROPPED_PRODUCE_FAULTS for a in ("--fault", f)])


def _broker(tmp_path, request, extra_args):
    external = os.environ.get("WREN_TEST_EXTERNAL_BOOTSTRAP")
    if external:
        yield ExternalBroker(external)
        return
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    b = WrenBroker(data_dir, tmp_path, extra_args).start()
    try:
        yield b
    finally:
        was_alive = b.alive()
        rc = b.stop(check=False)
        failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
        if failed:
            sys.stderr.write(f"\n[wren logs for {request.node.nodeid}]\n{b.logs()}\n")
    # Checked after the finally so a test failure is reported first and not masked.
    assert was_alive, f"wren died during the test\n{b.logs()}"
    assert rc == 0, f"wren exited with status {rc} after SIGTERM (expected 0)\n{b.logs()}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)
