"""nexthop: a route server with next hop IP support and an internal load balancer."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
