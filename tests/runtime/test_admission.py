"""The token bucket per source address that admits inbound BGP connections
(``nexthop.runtime.admission``), with ``now`` passed in."""

from __future__ import annotations

import pytest

from nexthop.runtime.admission import AcceptLimits, TokenBuckets


def test_a_burst_then_the_rate() -> None:
    buckets = TokenBuckets(AcceptLimits(rate=2.0, burst=3))
    assert [buckets.allow("a", 0.0) for _ in range(4)] == [True, True, True, False]
    assert buckets.allow("b", 0.0)  # another address has its own bucket
    assert not buckets.allow("a", 0.4)  # 0.8 of a token
    assert buckets.allow("a", 0.5)  # 1.0
    assert not buckets.allow("a", 0.5)
    assert [buckets.allow("a", 100.0) for _ in range(4)] == [True, True, True, False]  # capped
    assert len(buckets) == 2


def test_rate_zero_is_no_limit() -> None:
    buckets = TokenBuckets(AcceptLimits(rate=0.0, burst=1))
    assert all(buckets.allow("a", 0.0) for _ in range(100))
    assert len(buckets) == 0


@pytest.mark.parametrize(("rate", "burst"), [(-1.0, 5), (1.0, 0)])
def test_bad_limits_are_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="accept"):
        AcceptLimits(rate=rate, burst=burst)
