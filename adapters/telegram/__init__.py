"""The Telegram bot: getUpdates/webhook into the inbox, conversations over stored state, outbox delivery."""
