"""A group's `/settings` panel: who may use it, and what each setting changes."""

from __future__ import annotations

from testkit import BotHarness, HarnessUser
from testkit.harness import HarnessGroup


async def _club(bot: BotHarness) -> tuple[HarnessGroup, HarnessUser, HarnessUser]:
    owner = bot.user(2001, "Owner")
    alice = bot.user(1001, "Alice")
    club = bot.group("Film Club", members=[owner, alice])
    club.state.members[owner.id] = "admin"
    movies = bot.channel("Movies")
    await movies.post_video("Heat.1995.mkv")
    await movies.post_video("Heat.1995.720p.mkv")
    await movies.post_video("Heat.1995.2160p.mkv")
    return club, owner, alice


async def test_settings_panel_is_for_the_groups_admins(bot: BotHarness) -> None:
    club, owner, alice = await _club(bot)
    refused = (await club.send(alice, "/settings"))[-1]
    assert refused.text == "Only this group's admins can change its settings."
    panel = (await club.send(owner, "/settings"))[-1]
    assert panel.text.startswith("⚙️ Settings of Film Club")
    labels = [row[0].text for row in panel.buttons]
    assert labels == [
        "🔎 Auto-filter: on",
        "📋 Results: buttons here",
        "🗑 Delete results: never",
        "💡 Did you mean: off",
        "👋 Welcome new members: off",
    ]
    pressed = await alice.click(panel, "Auto-filter")
    assert pressed.answer is not None
    assert pressed.answer.text == "Only this group's admins can change its settings."
    after = (await owner.click(panel, "Auto-filter: on"))[-1]
    assert after.buttons[0][0].text == "🔎 Auto-filter: off"
    assert await club.send(alice, "heat 1995") == []  # auto-filter off: silence
    await bot.restart()
    assert await club.send(alice, "heat 1995") == []  # stored with the group


async def test_results_as_a_link_deleted_after_a_while_and_did_you_mean(bot: BotHarness) -> None:
    club, owner, alice = await _club(bot)
    panel = (await club.send(owner, "/settings"))[-1]
    await owner.click(panel, "Results")
    panel = (await owner.click(panel, "Delete results"))[-1]
    panel = (await owner.click(panel, "Did you mean"))[-1]
    labels = [row[0].text for row in panel.buttons]
    assert labels[1:4] == [
        "📋 Results: link to private chat",
        "🗑 Delete results: after 5 min",
        "💡 Did you mean: on",
    ]
    (reply,) = await club.send(alice, "heat 1995")
    assert reply.text == "🔎 3 files for “heat 1995”."
    url = reply.buttons[0][0].url
    assert url is not None
    results = (await alice.open_link(url))[-1]
    assert results.button("Heat 1995")  # the results, in private chat
    suggestion = (await club.send(alice, "hexxt"))[-1]
    assert any("🔍" in b.text for row in suggestion.buttons for b in row)
    await bot.advance(5 * 60 + 30)
    assert next(m for m in club.messages if m.id == reply.id).deleted


async def test_new_members_are_welcomed_when_the_group_wants_it(bot: BotHarness) -> None:
    club, owner, _alice = await _club(bot)
    newcomer = bot.user(3001, "Newcomer")
    assert await club.add_member(newcomer) == []
    panel = (await club.send(owner, "/settings"))[-1]
    await owner.click(panel, "Welcome")
    (welcome,) = await club.add_member(bot.user(3002, "Bea"))
    assert welcome.text.startswith("👋 Welcome, Bea!")


async def test_send_all_delivers_a_page_paced_in_private_chat(bot: BotHarness) -> None:
    club, _owner, alice = await _club(bot)
    bot.telegram.enforce_rate_limits = True  # 1 message a second per private chat
    results = (await alice.send("heat 1995"))[-1]
    sent = await alice.click(results, "Send all 3")
    files = [m.media.file_name for m in sent if m.media is not None]
    assert sorted(files) == ["Heat.1995.2160p.mkv", "Heat.1995.720p.mkv", "Heat.1995.mkv"]
    (in_group,) = await club.send(alice, "heat 1995")
    button = in_group.button("Send all 3")
    assert button.url is not None
    again = await alice.open_link(button.url)
    assert len([m for m in again if m.media is not None]) == 3


async def test_a_settings_button_replayed_in_a_private_chat_is_stale(bot: BotHarness) -> None:
    """Signed button data is valid under any message: a client that replays a group panel's
    button under a message of the private chat gets "expired", not an error."""
    club, owner, _alice = await _club(bot)
    panel = (await club.send(owner, "/settings"))[-1]
    private = (await owner.send("/start"))[-1]
    replayed = await owner.click(private, panel.buttons[0][0])
    assert replayed.answer is not None
    assert replayed.answer.alert
    assert replayed.answer.text == "This button has expired. Please send your request again."
    assert (await club.send(owner, "/settings"))[-1].buttons[0][0].text == "🔎 Auto-filter: on"
