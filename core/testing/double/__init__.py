"""The Telegram double, split by concern; `core.testing.telegram` composes it."""
