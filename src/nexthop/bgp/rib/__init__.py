"""Routing Information Bases (RFC 4271 §3.2, §9): Adj-RIB-In, Loc-RIB with the
decision process, Adj-RIB-Out, and outbound UPDATE packing."""

from __future__ import annotations

from nexthop.bgp.rib.adj_rib_in import AdjRibIn, AdjRibInEntry, Change, ImportPolicy, accept_all
from nexthop.bgp.rib.adj_rib_out import AdjRibOut, Advertisement, apply_diff
from nexthop.bgp.rib.decision import DECISION_STEPS, Reason, Step, best, ecmp_set
from nexthop.bgp.rib.loc_rib import LocRib, Selector
from nexthop.bgp.rib.packing import end_of_rib, estimate_update_size, pack_updates
from nexthop.bgp.rib.path import (
    AttributeInterner,
    Path,
    PeerType,
    as_path_asns,
    as_path_length,
    format_as_path,
    neighbour_as,
    prepend_as,
)

__all__ = [
    "DECISION_STEPS",
    "AdjRibIn",
    "AdjRibInEntry",
    "AdjRibOut",
    "Advertisement",
    "AttributeInterner",
    "Change",
    "ImportPolicy",
    "LocRib",
    "Path",
    "PeerType",
    "Reason",
    "Selector",
    "Step",
    "accept_all",
    "apply_diff",
    "as_path_asns",
    "as_path_length",
    "best",
    "ecmp_set",
    "end_of_rib",
    "estimate_update_size",
    "format_as_path",
    "neighbour_as",
    "pack_updates",
    "prepend_as",
]
