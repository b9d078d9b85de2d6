"""The sample suite for the installed wren-broker wheel (scripts/test-packages.sh): it uses the
plugin's fixtures as a user would; nothing here starts wren by itself."""

import pytest


@pytest.fixture(scope="session")
def wren_config():
    # Reaches both fixtures' brokers as WREN_NUM_PARTITIONS=2.
    return {"num_partitions": 2}
