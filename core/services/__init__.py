"""Domain services: what handlers call; no Telegram or driver types."""
