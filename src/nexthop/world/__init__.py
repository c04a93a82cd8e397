"""The world model: a whole topology wired together, and flow traces through it."""

from __future__ import annotations
