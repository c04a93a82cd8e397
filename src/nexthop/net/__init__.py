"""Addresses, prefixes and the prefix trie shared by the RIBs and the virtual network."""

from __future__ import annotations

from nexthop.net.prefix import Afi, Prefix, Safi, parse_address, parse_prefix

__all__ = ["Afi", "Prefix", "Safi", "parse_address", "parse_prefix"]
