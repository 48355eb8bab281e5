"""Cross-cutting building blocks: settings, logging, errors, cache, guards, Telegram wrapper."""
