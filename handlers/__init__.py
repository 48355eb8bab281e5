"""Pyrogram glue: parse the update, call one service, render the answer."""
