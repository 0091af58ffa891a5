"""Everything the core needs to decide and to speak, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.hours import Window
from gateway.languages import LanguageTable
from gateway.ports import LanguageDetector, Renderer
from gateway.replykeys import ReplyKeys


@dataclass(frozen=True)
class Desk:
    address: str
    default_agent_address: str
    keys: ReplyKeys
    renderer: Renderer
    detector: LanguageDetector
    languages: LanguageTable
    windows: tuple[Window, ...]
    ranks: tuple[str, ...]
    min_rank: str = "Silver"
    reopen_days: float = 14
    feedback_reminder_days: float = 3
    auto_close_days: float = 14
    max_auto_replies_per_hour: int = 5
    max_messages_per_hour: int = 20

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2].lower()

    def rank_allows_tickets(self, rank: str) -> bool:
        folded = {name.casefold(): index for index, name in enumerate(self.ranks)}
        index = folded.get(rank.strip().casefold())
        return index is not None and index >= folded[self.min_rank.casefold()]
