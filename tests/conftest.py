from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import settings

from tests.feedserver import FeedServer

# No property test has a time limit: the suite checks behaviour, bench/ measures speed, and
# a busy CI machine must not fail an example for taking 500 ms instead of 200.
settings.register_profile("no-deadline", deadline=None)
settings.load_profile("no-deadline")


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server
