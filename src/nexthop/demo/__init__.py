"""``nexthop demo``: the Route Server "next hop IP" article, run live on loopback.

``run_demo()`` brings up four example topologies one after the other
(``nexthop.demo.acts``), each as a live ``nexthop.lab.Lab`` on free ports
(``nexthop.demo.live``), and returns what it measured; ``nexthop.demo.render``
narrates it with Rich. The example files are found without configuration
(``nexthop.demo.examples``). See docs/demo.md.
"""

from __future__ import annotations

from nexthop.demo.examples import DEMO_EXAMPLES, ExamplesNotFoundError, find_examples
from nexthop.demo.run import ACTS, describe_timers, run_demo

__all__ = [
    "ACTS",
    "DEMO_EXAMPLES",
    "ExamplesNotFoundError",
    "describe_timers",
    "find_examples",
    "run_demo",
]
