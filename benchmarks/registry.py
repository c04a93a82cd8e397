"""Every benchmark target by its ``--targets`` name.

``nexthop`` is the product (``nexthop serve``, ``benchmarks.serve_target``);
``speaker-core`` and ``rs-core`` are stage profiles of its core run in-process
(``benchmarks.nexthop_target``), kept so one invocation can report the product's
cost over its core; the others are the reference daemons (``benchmarks.targets``).
"""

from __future__ import annotations

from benchmarks.serve_target import NexthopServe
from benchmarks.targets import Bird, ExaBgp, Frr, GoBgp, RouteServerCore, SpeakerCore, Target

__all__ = ["DEFAULT_TARGETS", "PRODUCT", "STAGE_PROFILES", "TARGETS"]

TARGETS: dict[str, type[Target]] = {
    cls.name: cls for cls in (Bird, Frr, GoBgp, ExaBgp, NexthopServe, SpeakerCore, RouteServerCore)
}
PRODUCT = NexthopServe.name
STAGE_PROFILES = (SpeakerCore.name, RouteServerCore.name)
DEFAULT_TARGETS = ("bird", "frr", "gobgp", "exabgp", PRODUCT, RouteServerCore.name)
