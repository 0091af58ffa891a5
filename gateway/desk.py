"""Everything the core needs to decide and to speak, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.closed_tickets import AfterClose
from gateway.hours import Window
from gateway.languages import LanguageTable
from gateway.people import Member
from gateway.ports import LanguageDetector, Renderer
from gateway.replykeys import ReplyKeys


@dataclass(frozen=True)
class Desk:
    """No defaults: every value is configured, and the settings model holds the defaults."""

    address: str
    default_agent_address: str
    keys: ReplyKeys
    renderer: Renderer
    detector: LanguageDetector
    languages: LanguageTable
    windows: tuple[Window, ...]
    ranks: tuple[str, ...]
    min_rank: str
    reopen_days: float
    feedback_reminder_days: float
    auto_close_days: float
    max_auto_replies_per_hour: int
    max_messages_per_hour: int
    satisfaction_days: float
    chat_idle_minutes: float

    @property
    def after_close(self) -> AfterClose:
        return AfterClose(self.satisfaction_days, self.reopen_days)

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2].lower()

    def language_for(self, member: Member | None, locale: str) -> str:
        """The member's record, then the client's language (e.g. Telegram's), then English."""
        if member is not None and member.language:
            return member.language
        code = locale.split("-")[0].lower()
        return code if code in self.languages.by_code else "en"

    def rank_allows_tickets(self, rank: str) -> bool:
        folded = {name.casefold(): index for index, name in enumerate(self.ranks)}
        index = folded.get(rank.strip().casefold())
        return index is not None and index >= folded[self.min_rank.casefold()]
