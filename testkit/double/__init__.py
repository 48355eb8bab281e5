"""The Telegram double, split by concern; `testkit.telegram` composes it."""
