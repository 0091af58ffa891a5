"""The template kinds the Telegram adapter adds to config/locales (member kinds in en, nl, da, fr, cs, fi)."""

from __future__ import annotations

TELEGRAM_MEMBER_KINDS: frozenset[str] = frozenset({
    "tg_start", "tg_help", "tg_hours", "tg_not_linked", "tg_link_ask", "tg_link_sent",
    "tg_link_wrong_code", "tg_link_failed", "tg_linked", "tg_link_token_bad", "telegram_linked",
    "telegram_invite",
    "tg_new_title", "tg_new_title_wrong", "tg_new_description", "tg_new_files", "tg_file_refused",
    "tg_new_confirm", "tg_cancelled", "tg_tickets", "tg_ticket", "tg_ticket_not_found",
    "tg_unknown", "tg_chat_closed", "tg_chat_ask", "tg_chat_bad_email", "tg_chat_english_only",
    "tg_chat_queued", "tg_chat_agent", "tg_chat_ended", "tg_chat_none",
})
"""Sent to members (in Telegram, or by email: `telegram_linked`, `telegram_invite`)."""

TELEGRAM_AGENT_KINDS: frozenset[str] = frozenset({
    "agent_chat_request", "agent_chat_ended", "agent_telegram_blocked"})
"""Sent to agents: English only."""
