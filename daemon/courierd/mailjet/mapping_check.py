"""`courierd mappings check`: which kind a mapping file is, and what a valid one does.

Loading raises `MappingError` (each problem names the file and the key); a valid
file gets a one-line summary, so an integrator sees what courierd will do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from courierd.mailjet.event_mapping import EventMapping, load_event_mapping
from courierd.mailjet.message_mapping import load_message_mapping

MappingKind = Literal["events", "messages"]
KINDS: tuple[MappingKind, ...] = ("events", "messages")


def infer_kind(path: Path) -> MappingKind | None:
    """events*.yaml / messages*.yaml (or .yml); None when the name says neither."""
    name = path.name.lower()
    if not name.endswith((".yaml", ".yml")):
        return None
    return next((kind for kind in KINDS if name.startswith(kind)), None)


def describe_event_mapping(mapping: EventMapping) -> str:
    statuses = ", ".join(f"{event}->{status}" for event, status in mapping.statuses.items())
    guard = mapping.scanner_guard
    return (
        f"{statuses}; web document: {', '.join(mapping.web_document.url_patterns)}; "
        f"scanner guard: {len(guard.user_agents)} user agents, "
        f"{guard.min_seconds_after_delivery} s after delivery"
    )


def check_mapping(path: Path, kind: MappingKind) -> str:
    """The summary of a valid mapping file; raises MappingError otherwise."""
    if kind == "events":
        summary = describe_event_mapping(load_event_mapping(path))
    else:
        summary = load_message_mapping(path).describe()
    return f"{path}: valid {kind} mapping: {summary}"
