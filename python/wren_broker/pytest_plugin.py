"""pytest fixtures (entry point `pytest11`):

* `wren`: one broker for the whole session, emptied (control plane reset) before each test.
  With a binary that has no control listener each test gets a fresh broker instead, so the
  contract (every test starts from an empty broker) holds either way.
* `wren_isolated`: a fresh broker for each test, stopped after it.
* `wren_config`: override it (session scope) to pass broker config keys to both, e.g.
  `return {"num_partitions": 3}`.
"""

from __future__ import annotations

import pytest

from . import _broker


@pytest.fixture(scope="session")
def wren_config() -> dict:
    return {}


@pytest.fixture(scope="session")
def _wren_session(wren_config):
    if not _broker.supports_control(str(_broker.binary_path())):
        yield None
        return
    broker = _broker.start(control=True, **wren_config)
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def wren(_wren_session, wren_config):
    if _wren_session is None:
        with _broker.start(**wren_config) as broker:
            yield broker
        return
    if not _wren_session.alive():
        pytest.fail(f"the session's wren broker died: {_wren_session.stderr_tail()}")
    _wren_session.control.reset()
    yield _wren_session


@pytest.fixture
def wren_isolated(wren_config):
    with _broker.start(**wren_config) as broker:
        yield broker
