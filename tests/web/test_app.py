"""The web app end to end in Chromium, against a real `pingraph serve --demo`: accounts, the
feed's paging, the close-up, saving, boards, profiles, uploads, search by image, live
notifications, history, errors and keyboard basics. Every test also fails on any console
error or uncaught exception in its pages (tests/web/conftest.py)."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.utils.demo_server import DemoServer
from tests.utils.images import jpeg
from tests.web.conftest import Pages, save_screenshot

PASSWORD = "correct horse battery"
PAGE_SIZE = 25
INDEXED_WITHIN_S = 90  # a new pin's image is embedded in the background


@pytest.fixture(autouse=True)
def _patient_expectations() -> None:
    # One server and browser on a shared 2-core machine: answers can take seconds.
    expect.set_options(timeout=30_000)


def new_handle() -> str:
    return f"web_{uuid.uuid4().hex[:12]}"


def sign_up(page: Page, handle: str, display_name: str) -> None:
    page.goto("/signup")
    page.get_by_label("Handle").fill(handle)
    page.get_by_label("Display name").fill(display_name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.get_by_role("link", name=display_name)).to_have_attribute("href", f"/u/{handle}")


def token_of(page: Page) -> str:
    token = page.evaluate("() => JSON.parse(localStorage.getItem('pingraph.session')).token")
    assert isinstance(token, str)
    return token


def graphql(server: DemoServer, token: str | None, query: str, **variables: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = httpx.post(
        f"{server.url}/graphql", json={"query": query, "variables": variables}, headers=headers,
        timeout=60,
    ).json()  # fmt: skip
    assert "errors" not in answer, answer
    return answer["data"]


def api_sign_up(server: DemoServer, handle: str, display_name: str | None = None) -> str:
    data = graphql(
        server, None,
        "mutation($h: String!, $p: String!, $n: String) "
        "{ signUp(handle: $h, password: $p, displayName: $n) { token } }",
        h=handle, p=PASSWORD, n=display_name,
    )  # fmt: skip
    return str(data["signUp"]["token"])


def api_pin(server: DemoServer, token: str, title: str, picture: bytes) -> str:
    """A pin `title` with `picture` on a new public board of the token's user."""
    uploaded = httpx.post(
        f"{server.url}/media", files={"file": ("pin.jpg", picture, "image/jpeg")},
        headers={"Authorization": f"Bearer {token}"}, timeout=60,
    )  # fmt: skip
    assert uploaded.status_code in (200, 201), uploaded.text
    board = graphql(server, token, 'mutation { createBoard(input: {name: "Mine"}) { id } }')
    created = graphql(
        server, token,
        "mutation($input: CreatePinInput!) { createPin(input: $input) { id } }",
        input={"title": title, "boardId": board["createBoard"]["id"],
               "imageKey": uploaded.json()["imageKey"]},
    )  # fmt: skip
    return str(created["createPin"]["id"])


def picture_for(handle: str) -> bytes:
    """A picture no other test uses: its colours come from the handle."""
    digest = uuid.uuid5(uuid.NAMESPACE_OID, handle).bytes
    return jpeg(640, 480, color=(digest[0], digest[1], digest[2]))


def test_sign_up_then_scroll_the_feed_until_a_second_page_loads(pages: Pages) -> None:
    page = pages.open()
    sign_up(page, new_handle(), "Scroll Tester")
    grid = page.get_by_test_id("pin-grid")
    cards = grid.locator(".pin-card")
    expect(cards.first).to_be_visible()
    # The page after the first loads at once when the grid's end is near the screen: wait
    # until nothing more is asked for, then scroll for the next one.
    page.wait_for_load_state("networkidle")
    loaded = int(grid.get_attribute("data-pages") or 0)
    shown = cards.count()
    assert shown == loaded * PAGE_SIZE
    # Every picture is described by its pin's title.
    first = cards.first
    expect(first.locator("img")).to_have_attribute("alt", first.locator(".caption").inner_text())
    save_screenshot(page, "home")

    for _ in range(20):
        if grid.get_attribute("data-pages") == str(loaded + 1):
            break
        page.mouse.wheel(0, 2500)
        page.wait_for_timeout(300)
    expect(grid).to_have_attribute("data-pages", str(loaded + 1))
    assert cards.count() > shown
    ids = cards.evaluate_all("cards => cards.map(card => card.dataset.pinId)")
    assert len(ids) == len(set(ids)), "a pin shown twice across pages"

    # Back from a close-up: both pages come from the client's cache, scrolled where they were
    # (where the card was in view to be clicked).
    opened = cards.nth(PAGE_SIZE)
    opened.scroll_into_view_if_needed()
    scrolled = page.evaluate("window.scrollY")
    assert scrolled > 0
    feed_requests: list[str] = []
    page.on("request", lambda request: feed_requests.append(request.url)
            if "HomeFeed" in (request.post_data or "") else None)  # fmt: skip
    opened.click()
    page.wait_for_url("**/pin/*")
    page.go_back()
    page.wait_for_url(re.compile(r"/$"))
    expect(grid).to_have_attribute("data-pages", str(loaded + 1))
    page.wait_for_function("(y) => Math.abs(window.scrollY - y) < 50", arg=scrolled)
    assert feed_requests == []

    page.reload()  # the session survives a reload
    expect(page.get_by_role("link", name="Scroll Tester")).to_be_visible()
    expect(page.get_by_test_id("pin-grid")).to_be_visible()


def test_open_a_pin_save_it_to_a_new_board_and_see_the_board(pages: Pages) -> None:
    page = pages.open()
    sign_up(page, new_handle(), "Saver")
    card = page.get_by_test_id("pin-grid").locator(".pin-card").first
    pin_id = card.get_attribute("data-pin-id")
    title = card.locator(".caption").inner_text()
    card.click()
    page.wait_for_url(f"**/pin/{pin_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    closeup = page.get_by_test_id("closeup-image")
    expect(closeup.get_by_role("img", name=title)).to_be_visible()
    related = page.get_by_role("region", name="Related pins")
    expect(related.locator(".pin-card").first).to_be_visible()
    similar = page.get_by_role("region", name="Visually similar")
    expect(similar.locator(".pin-card").first).to_be_visible()
    # MEDIUM is laid over SMALL once loaded.
    expect(closeup.locator("img[src*='/medium']")).to_have_class("loaded")

    # React, comment, take both back.
    reactions = page.get_by_role("group", name="Reactions")
    love = reactions.get_by_role("button", name=re.compile("^Love"))
    before = int((love.get_attribute("aria-label") or "").rsplit(" ", 1)[1])
    love.click()
    expect(love).to_have_attribute("aria-pressed", "true")
    expect(love).to_have_attribute("aria-label", f"Love, {before + 1}")
    page.get_by_label("Add a comment").fill("Lovely, saving this")
    page.get_by_role("button", name="Post").click()
    comment = (
        page.get_by_test_id("comments")
        .get_by_role("listitem")
        .filter(has_text="Lovely, saving this")
    )
    expect(comment).to_contain_text("Saver")
    expect(page.get_by_label("Add a comment")).to_have_value("")
    comment.get_by_role("button", name="Delete").click()
    expect(comment).to_have_count(0)
    love.click()
    expect(love).to_have_attribute("aria-pressed", "false")

    page.get_by_label("New board name").fill("Web test board")
    page.get_by_role("button", name="Save", exact=True).click()
    saved = page.get_by_text("Saved to")
    expect(saved).to_be_visible()
    save_screenshot(page, "pin")
    saved.get_by_role("link", name="Web test board").click()
    page.wait_for_url("**/board/*")
    expect(page.get_by_role("heading", level=1)).to_have_text("Web test board")
    expect(page.locator(f".pin-card[data-pin-id='{pin_id}']")).to_be_visible()
    expect(page.locator("main header")).to_contain_text("· 1 pin")
    save_screenshot(page, "board")

    # Pages have real URLs: back, forward and reload land where they should.
    page.go_back()
    page.wait_for_url(f"**/pin/{pin_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    page.go_forward()
    page.wait_for_url("**/board/*")
    expect(page.get_by_role("heading", level=1)).to_have_text("Web test board")
    page.go_back()
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    # Now the pin is on one of my boards, the board list offers it.
    expect(page.get_by_role("combobox", name="Board")).to_have_value(re.compile(r"\w+"))


def test_upload_a_picture_create_a_pin_and_find_it_by_image(pages: Pages) -> None:
    page = pages.open()
    handle = new_handle()
    sign_up(page, handle, "Maker")
    picture = picture_for(handle)
    upload = {"name": "stripes.jpg", "mimeType": "image/jpeg", "buffer": picture}

    page.get_by_role("link", name="Create").click()
    page.wait_for_url("**/create")
    page.get_by_label("Image").set_input_files(upload)
    expect(page.get_by_role("img", name="The picture to pin")).to_be_visible()
    page.get_by_label("Title").fill("Striped test pattern")
    page.get_by_label("Description").fill("Made in a browser test")
    page.get_by_label("New board name").fill("Patterns")
    save_screenshot(page, "create")
    page.get_by_role("button", name="Create pin").click()
    page.wait_for_url(re.compile(r"/pin/\w+$"))
    pin_id = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("heading", level=1)).to_have_text("Striped test pattern")
    expect(page.get_by_test_id("closeup-image").locator("img")).to_have_count(2)  # SMALL, MEDIUM

    # Text search finds it by a prefix of its last word.
    page.get_by_role("searchbox", name="Search pins").fill("striped test patt")
    page.get_by_role("searchbox", name="Search pins").press("Enter")
    page.wait_for_url("**/search?q=*")
    expect(page.locator(f".pin-card[data-pin-id='{pin_id}']")).to_be_visible()

    # Search by the same picture, uploaded again: it comes back once its image is indexed.
    page.get_by_label("Search by image").set_input_files(upload)
    page.wait_for_url("**/search?image=*")
    found = page.locator(f".pin-card[data-pin-id='{pin_id}']")
    deadline = time.monotonic() + INDEXED_WITHIN_S
    while found.count() == 0 and time.monotonic() < deadline:
        page.wait_for_timeout(2000)
        page.reload()
        page.get_by_role("region", name="Pins that look like your picture").wait_for()
        page.wait_for_load_state("networkidle")
    expect(found).to_be_visible()
    save_screenshot(page, "search")

    # A region of the pin's picture, chosen by dragging on the close-up.
    page.goto(f"/pin/{pin_id}")
    page.get_by_role("button", name="Select a region").click()
    box = page.get_by_test_id("closeup-image").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.6, steps=5)
    page.mouse.up()
    page.get_by_role("button", name="Search this region").click()
    page.wait_for_url(re.compile(r"/search\?image=\w+&crop=\d+%2C\d+%2C\d+%2C\d+$"))
    expect(page.get_by_text(re.compile(r"A \d+\u00d7\d+ region of this picture"))).to_be_visible()
    results = page.get_by_role("region", name="Pins that look like your picture")
    expect(results.locator(".pin-card, .empty").first).to_be_visible()


def test_a_notification_arrives_live_when_another_user_saves_my_pin(
    pages: Pages, web_server: DemoServer
) -> None:
    creator = pages.open()
    handle = new_handle()
    sign_up(creator, handle, "Creator")
    pin_id = api_pin(web_server, token_of(creator), "Pin worth saving", picture_for(handle))
    expect(creator.locator("html[data-live='connected']")).to_have_count(1)
    expect(creator.get_by_test_id("unread-count")).to_have_count(0)

    saver = pages.open(token=api_sign_up(web_server, new_handle(), "Saver Two"))
    saver.goto(f"/pin/{pin_id}")
    saver.get_by_label("New board name").fill("Saved by a browser")
    saver.get_by_role("button", name="Save", exact=True).click()
    expect(saver.get_by_text("Saved to")).to_be_visible()

    # No reload: the count arrives over the subscription.
    expect(creator.get_by_test_id("unread-count")).to_have_text("1")
    expect(creator.get_by_role("link", name="Notifications, 1 unread")).to_be_visible()
    creator.get_by_role("link", name="Notifications, 1 unread").click()
    item = creator.get_by_test_id("notifications").get_by_role("listitem").first
    expect(item).to_contain_text("Saver Two saved your pin")
    expect(item).to_contain_text("Pin worth saving")
    save_screenshot(creator, "notifications")
    creator.get_by_role("button", name="Mark all as read").click()
    expect(creator.get_by_test_id("unread-count")).to_have_count(0)
    expect(creator.get_by_role("button", name="Mark all as read")).to_be_disabled()


def test_profiles_and_boards_have_follow_buttons_that_stick(
    pages: Pages, web_server: DemoServer
) -> None:
    # Someone with public boards (the demo user's own boards are secret).
    owner = graphql(web_server, None, "{ trendingBoards(first: 1) { owner { handle } } }")
    handle = owner["trendingBoards"][0]["owner"]["handle"]
    page = pages.open()
    sign_up(page, new_handle(), "Follower")
    page.goto(f"/u/{handle}")
    heading = page.get_by_role("heading", level=1)
    expect(heading).not_to_have_text("")
    name = heading.inner_text()
    # A toggle: its name stays, its state is aria-pressed, its text says it.
    follow = page.get_by_role("button", name=f"Follow {name}", exact=True)
    expect(follow).to_have_attribute("aria-pressed", "false")
    follow.click()
    expect(follow).to_have_attribute("aria-pressed", "true")
    expect(follow).to_have_text("Following")
    save_screenshot(page, "profile")
    page.reload()
    expect(follow).to_have_attribute("aria-pressed", "true")

    page.locator(".board-card").first.click()
    page.wait_for_url("**/board/*")
    board = page.get_by_role("heading", level=1).inner_text().removesuffix(" 🔒")
    follow_board = page.get_by_role("button", name=f"Follow {board}", exact=True)
    follow_board.click()
    expect(follow_board).to_have_attribute("aria-pressed", "true")
    page.reload()
    expect(follow_board).to_have_attribute("aria-pressed", "true")
    follow_board.click()  # and back
    expect(follow_board).to_have_attribute("aria-pressed", "false")


def test_sign_in_with_a_password_and_as_the_demo_user(pages: Pages, web_server: DemoServer) -> None:
    handle = new_handle()
    api_sign_up(web_server, handle)
    pages.allow(r"status of 401")  # the refused sign-in's response
    page = pages.open()
    page.goto("/signin")
    save_screenshot(page, "signin")
    page.get_by_label("Handle").fill(handle)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("wrong handle or password")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.get_by_role("link", name=handle)).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in", exact=True)).to_be_visible()

    page.goto("/signin?next=/notifications")
    page.get_by_role("button", name="Sign in as the demo user").click()
    page.wait_for_url("**/notifications")
    expect(page.locator("header a[href='/u/demo']")).to_be_visible()


def test_errors_are_shown_and_never_a_blank_page(pages: Pages) -> None:
    page = pages.open()
    page.goto("/pin/01JSAD8Z8WYX2PFHF55V9D6AMX")
    expect(page.get_by_role("heading", level=1)).to_have_text("Pin not found")
    page.goto("/board/01JSAD8Z8WYX2PFHF55V9D6AMX")
    expect(page.get_by_role("heading", level=1)).to_have_text("Board not found")
    page.goto("/u/no_such_user_here")
    expect(page.get_by_role("heading", level=1)).to_have_text("No user @no_such_user_here")
    page.goto("/pin/%E0")  # an address no page can have: not a blank page either
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")

    pages.allow(r"status of 503")
    page.route("**/graphql", lambda route: route.fulfill(status=503, body="down for a moment"))
    page.goto("/")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("503")
    page.unroute("**/graphql")
    alert.get_by_role("button", name="Try again").click()
    expect(page.get_by_test_id("pin-grid").locator(".pin-card").first).to_be_visible()

    page.goto("/create")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to create a pin")


def test_keyboard_and_screen_reader_basics(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_test_id("pin-grid").locator(".pin-card").first).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to content")
    alts = (
        page.get_by_test_id("pin-grid")
        .locator("img")
        .evaluate_all("images => images.map(image => image.alt)")
    )
    assert alts
    assert all(alt.strip() for alt in alts)
    # A pin opens from the keyboard, and focus moves to the new page's heading.
    card = page.get_by_test_id("pin-grid").locator(".pin-card").first
    card.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/pin/*")
    expect(page.locator("h1:focus")).to_have_count(1)
    page.goto("/signup")
    for label in ("Handle", "Display name", "Password"):
        expect(page.get_by_label(label)).to_be_editable()


def test_share_a_board_accept_the_invite_and_remove_the_collaborator(
    pages: Pages, web_server: DemoServer
) -> None:
    owner_handle, member_handle = new_handle(), new_handle()
    owner_token = api_sign_up(web_server, owner_handle, "Board Owner")
    api_sign_up(web_server, member_handle, "Board Friend")
    board = graphql(
        web_server, owner_token,
        'mutation { createBoard(input: {name: "Our trip", privacy: SECRET}) { id } }',
    )["createBoard"]["id"]  # fmt: skip

    owner = pages.open(token=owner_token)
    owner.goto(f"/board/{board}")
    owner.get_by_label("Invite by handle").fill(f"@{member_handle}")
    owner.get_by_role("button", name="Invite", exact=True).click()
    expect(owner.get_by_text("Invited Board Friend")).to_be_visible()

    member = pages.open()
    member.goto("/signin")
    member.get_by_label("Handle").fill(member_handle)
    member.get_by_label("Password").fill(PASSWORD)
    member.get_by_role("button", name="Sign in", exact=True).click()
    member.wait_for_url(re.compile(r"/$"))
    member.get_by_role("link", name=re.compile("^Notifications")).click()
    invite = member.get_by_test_id("invites").get_by_role("listitem")
    expect(invite).to_contain_text("Board Owner invited you to save to Our trip")
    member.get_by_role("button", name="Accept the invite to Our trip").click()
    member.wait_for_url(f"**/board/{board}")
    expect(member.get_by_role("heading", level=1)).to_have_text("Our trip 🔒")
    expect(member.get_by_role("button", name="Leave this board")).to_be_visible()

    # A collaborator saves into the shared board from any close-up.
    pin = graphql(web_server, None, "{ trendingPins(first: 1) { id title } }")["trendingPins"][0]
    member.goto(f"/pin/{pin['id']}")
    picker = member.get_by_role("combobox", name="Board")
    picker.select_option(label="Our trip (Board Owner)")
    member.get_by_role("button", name="Save", exact=True).click()
    expect(member.get_by_text("Saved to")).to_contain_text("Our trip")
    owner.reload()
    expect(owner.locator(f".pin-card[data-pin-id='{pin['id']}']")).to_be_visible()

    members = owner.get_by_test_id("collaborators")
    expect(members).to_contain_text("Board Friend")
    owner.get_by_role("button", name="Remove Board Friend").click()
    expect(members.get_by_role("listitem")).to_have_count(0)

    member.goto(f"/board/{board}")  # the secret board is gone for them on the next request
    expect(member.get_by_role("heading", level=1)).to_have_text("Board not found")
