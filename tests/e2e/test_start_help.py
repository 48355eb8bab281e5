"""/start and /help as users and admins see them, buttons included."""

from __future__ import annotations

from testkit import BotHarness


async def test_start_greets_by_name_and_explains_the_bot(bot: BotHarness) -> None:
    alice = bot.user(1001, "Alice <3")
    replies = await alice.send("/start")
    assert len(replies) == 1
    greeting = replies[0]
    assert greeting.text.startswith("👋 Hi Alice <3!")
    assert "<b>Alice &lt;3</b>" in greeting.html  # user text is escaped
    assert "@FileSearchBot" in greeting.text
    labels = [b.text for b in greeting.all_buttons]
    assert labels == ["🔍 Search inline", "❓ Help", "\N{HEAVY PLUS SIGN} Add me to a group"]
    assert greeting.button("Search inline").switch_inline == ""
    assert greeting.button("Add me").url == "https://t.me/FileSearchBot?startgroup=true"


async def test_start_records_the_user(bot: BotHarness) -> None:
    await bot.user(1001, "Alice", "alice").send("/start")
    user = await bot.app.users.get(1001)
    assert user is not None
    assert (user.first_name, user.username) == ("Alice", "alice")
    assert user.joined_at == bot.clock.now()


async def test_help_button_edits_the_message_and_back_returns(bot: BotHarness) -> None:
    alice = bot.user(1001, "Alice")
    (greeting,) = await alice.send("/start")
    (help_page,) = await alice.click(greeting, "Help")
    assert help_page.id == greeting.id
    assert help_page.edited
    assert help_page.text.startswith("How to search")
    back = await alice.click(help_page, "Back")
    assert back.answer is not None  # the button press was answered (no spinner left)
    assert back[0].text.startswith("👋 Hi Alice!")
    assert [m.id for m in alice.chat] == [1, greeting.id]  # no new messages, one edited


async def test_help_for_users_lists_only_user_commands(bot: BotHarness) -> None:
    (reply,) = await bot.user(1001, "Alice").send("/help")
    assert "/start" in reply.text
    assert "/help" in reply.text
    assert "Admin commands" not in reply.text
    assert "/stats" not in reply.text


async def test_help_for_admins_adds_admin_commands(bot: BotHarness) -> None:
    (reply,) = await bot.user(1, "Admin").send("/help")
    assert "Admin commands" in reply.text
    assert "/stats — Users, uptime and database" in reply.text
    assert "/cache — Cache hit ratios and sizes" in reply.text
    assert "<b>Admin commands</b>" in reply.html


async def test_admin_commands_refuse_users_with_a_reference(bot: BotHarness) -> None:
    (reply,) = await bot.user(1001, "Alice").send("/stats")
    assert reply.text.startswith("You are not allowed to do that.")
    assert "ref: " in reply.text


async def test_admin_stats_and_cache(bot: BotHarness) -> None:
    admin = bot.user(1, "Admin")
    await bot.user(1001, "Alice").send("/start")
    (stats,) = await admin.send("/stats")
    assert "Users: 2" in stats.text  # Alice, and the admin who asks: every interaction counts
    (cache,) = await admin.send("/cache")
    assert cache.text.startswith("Caches")
    assert "rate_limits" in cache.text


async def test_command_menu_is_set_at_startup(mongo_uri: str) -> None:
    async with BotHarness(database_uri=mongo_uri, ADMINS="1") as bot:
        assert bot.telegram.commands["default"] == [
            ("start", "What this bot does"),
            ("help", "How to search and what you can do"),
            ("myplan", "Your plan: free or premium, and until when"),
        ]
        bot.user(1, "Admin")  # Telegram knows the admin only once they exist
        await bot.restart()
        admin_menu = [name for name, _ in bot.telegram.commands["chat:1"]]
        assert admin_menu == [
            "start",
            "help",
            "myplan",
            "stats",
            "cache",
            "user",
            "users",
            "chats",
            "leave",
            "ban",
            "unban",
            "banned",
            "premium",
            "broadcast",
            "flags",
            "flag",
            "delete",
            "deleteall",
            "link",
            "batch",
            "links",
            "unlink",
            "index",
            "jobs",
            "cancel",
            "channels",
            "addchannel",
            "removechannel",
            "addfile",
        ]


async def test_buttons_keep_working_after_a_restart(bot: BotHarness) -> None:
    alice = bot.user(1001, "Alice")
    (greeting,) = await alice.send("/start")
    await bot.restart()
    (help_page,) = await alice.click(greeting, "Help")
    assert help_page.text.startswith("How to search")


async def test_forged_or_stale_buttons_get_a_clear_answer(bot: BotHarness) -> None:
    alice = bot.user(1001, "Alice")
    (greeting,) = await alice.send("/start")
    real = greeting.button("Help").data
    assert real is not None
    for data in (real[:-2] + "xx", "next_2_dark", "1|help|AAAAAAAA"):
        replies = await alice.press_data(greeting, data)
        assert replies.answer is not None
        assert replies.answer.alert
        assert replies.answer.text == "This button has expired. Please send your request again."
        assert list(replies) == []  # nothing was edited or sent
