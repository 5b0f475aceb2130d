"""Build hook: ship data/ inside the wheel as upperback/data, the default knowledge base.

Only for a regular wheel: an editable install (and a checkout) reads the repository's data/
in place, so there is one copy to edit and no stale one in site-packages."""

from __future__ import annotations

from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class KnowledgeBaseHook(BuildHookInterface):  # type: ignore[misc]
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name == "wheel" and version == "standard":
            build_data["force_include"]["data"] = "upperback/data"
