"""The web app in a real browser (Debian's Chromium), with JavaScript on and off: the newcomer's whole journey."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import chromium, make_admin, screenshot  # noqa: F401  (the shared browser fixture)
from tests.media_fixtures import png

PASSWORD = "correct horse battery staple"


def sign_up(page, url: str, username: str) -> None:
    page.goto(f"{url}/auth/sign_up")
    page.get_by_label("Username").fill(username)
    page.get_by_label("E-mail").fill(f"{username}@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("I agree to the server's rules").check()
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Home", level=1)).to_be_visible()


def sign_in(page, url: str, username: str) -> None:
    page.goto(f"{url}/auth/sign_in")
    page.get_by_label("Username or e-mail").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Home", level=1)).to_be_visible()


def post(page, text: str, warning: str = "", image_alt: str = "", poll: tuple = ()) -> None:
    page.get_by_label("What's on your mind?").fill(text)
    if warning:
        page.get_by_label("Content warning (optional)").fill(warning)
    if image_alt:  # a real <input type=file> in the multipart form, with its alt text
        page.get_by_text("Add images, video or sound").click()
        page.get_by_label("Image, video or sound 1").set_input_files(
            {"name": "square.png", "mimeType": "image/png", "buffer": png()})
        page.get_by_label(re.compile("^Alt text for file 1")).fill(image_alt)
    if poll:
        page.get_by_text("Add a poll").click()
        for i, option in enumerate(poll, 1):
            page.get_by_label(re.compile(f"^Poll option {i}")).fill(option)
    page.get_by_role("button", name="Post", exact=True).click()


@pytest.mark.parametrize("js", [True, False], ids=["js-on", "js-off"])
def test_the_newcomers_journey(chromium, live_server, js):
    url = live_server.url
    tag = uuid.uuid4().hex[:6]
    author, fan, mod = f"author_{tag}", f"fan_{tag}", f"mod_{tag}"
    make_admin(live_server, mod)
    a = chromium.new_context(java_script_enabled=js)
    f = chromium.new_context(java_script_enabled=js)
    m = chromium.new_context(java_script_enabled=js)
    try:
        pa, pf, pm = a.new_page(), f.new_page(), m.new_page()
        sign_up(pa, url, author)
        sign_up(pf, url, fan)
        # The author follows the fan, so the fan's posts reach the author's home timeline.
        pa.goto(f"{url}/@{fan}")
        pa.get_by_role("button", name="Follow").click()
        expect(pa.get_by_role("button", name="Unfollow")).to_be_visible()

        pa.goto(url)
        post(pa, f"The ending of the film {tag}", warning="film spoilers", image_alt="The last frame of the film")
        summary = pa.get_by_text("Content warning: film spoilers").first
        expect(summary).to_be_visible()
        article = pa.get_by_role("article").filter(has_text="film spoilers").first
        expect(article).to_have_accessible_name(re.compile(rf"^{author}: Content warning: film spoilers"))
        summary.click()  # the picture waits behind the warning, a <details> that opens without script
        expect(article.get_by_role("img", name="The last frame of the film")).to_be_visible()
        post(pa, f"Which ending {tag}?", poll=("Happy", "Sad"))
        expect(pa.get_by_role("article").filter(has_text="Which ending").get_by_text("0 people voted")).to_be_visible()
        if js:
            expect(pa.locator("body")).to_have_attribute("data-live", "open")

        # The fan finds the post by search, follows, favourites, boosts and replies.
        pf.goto(f"{url}/search")
        pf.get_by_label(re.compile("^Search for")).fill(tag)
        pf.get_by_role("button", name="Search", exact=True).click()
        found = pf.get_by_role("article").filter(has_text="film spoilers").first
        expect(found).to_be_visible()
        found.get_by_role("link", name=re.compile("UTC")).click()
        expect(pf.get_by_role("heading", name=re.compile("Post by"))).to_be_visible()
        main = pf.locator("article.main-status")
        main.get_by_role("button", name=re.compile("^Favourite")).click()
        expect(main.get_by_role("button", name=re.compile("^Favourite"))).to_have_attribute("aria-pressed", "true")
        if js:  # htmx swapped the post in place and kept keyboard focus on the button
            expect(pf.locator("article.main-status button[data-focus-key=Favourite]")).to_be_focused()
        main = pf.locator("article.main-status")
        main.get_by_role("button", name=re.compile("^Boost")).click()
        expect(pf.locator("article.main-status").get_by_role("button", name=re.compile("^Boost"))).to_have_attribute("aria-pressed", "true")
        pf.get_by_label("Your reply").fill(f"@{author} no spoilers please {tag}")
        pf.get_by_role("button", name="Reply", exact=True).click()
        expect(pf.get_by_role("article").filter(has_text="no spoilers please")).to_be_visible()
        pf.goto(f"{url}/@{author}")
        pf.get_by_role("button", name="Follow").click()
        expect(pf.get_by_role("button", name="Unfollow")).to_be_visible()
        poll = pf.get_by_role("article").filter(has_text="Which ending")
        poll.get_by_label("Sad").check()
        poll.get_by_role("button", name="Vote").click()  # htmx swaps the post in place (js), or the page reloads
        expect(pf.get_by_role("article").filter(has_text="Which ending").get_by_text("100% Sad (your choice)")).to_be_visible()

        if js:  # the author's open page counts the notifications live, and a new post waits behind a button
            expect(pa.locator("#unread-count")).to_have_attribute("data-count", re.compile("^[1-9]"))
            pf.goto(url)
            post(pf, f"A new post from the fan {tag}")
            # (the fan's reply may have arrived first: the author follows the fan, so it counts too)
            expect(pa.locator("#new-posts")).to_have_text(re.compile(r"^Show [1-9][0-9]* new posts?$"))
            expect(pa.locator("#live")).to_contain_text("new")
        pa.goto(f"{url}/notifications")
        expect(pa.get_by_text("followed you")).to_be_visible()
        expect(pa.get_by_text("favourited your post")).to_be_visible()
        expect(pa.get_by_text("boosted your post")).to_be_visible()
        expect(pa.get_by_text("mentioned you")).to_be_visible()
        screenshot(pa, f"notifications-{'js' if js else 'nojs'}")

        # The author edits the profile.
        pa.goto(f"{url}/settings")
        pa.get_by_label("Display name").fill(f"Author {tag}")
        pa.get_by_label("Bio").fill("I write about films.")
        pa.get_by_label(re.compile("^New avatar")).set_input_files({"name": "me.png", "mimeType": "image/png", "buffer": png(48, 48)})
        pa.get_by_label("Description of the avatar (alt text)").fill(f"A teal square {tag}")
        pa.get_by_role("button", name="Save profile").click()
        expect(pa.get_by_text("Profile saved.")).to_be_visible()
        pa.goto(f"{url}/@{author}")
        expect(pa.get_by_role("heading", name=re.compile(f"Author {tag}"))).to_be_visible()
        avatar = pa.get_by_role("img", name=f"A teal square {tag}")
        expect(avatar).to_be_visible()
        assert avatar.evaluate("img => img.naturalWidth") == 48  # the browser decoded the stored image
        screenshot(pa, f"profile-{'js' if js else 'nojs'}")

        # The fan reports the author's post; a moderator resolves the report and suspends the account.
        pf.goto(f"{url}/@{author}")
        reported = pf.get_by_role("article").filter(has_text="film spoilers").first
        reported.get_by_role("link", name="Report").click()
        pf.get_by_label("It is spam").check()
        pf.get_by_label(re.compile("^Anything else")).fill(f"spoilers {tag}")
        pf.get_by_role("button", name="Send report").click()
        expect(pf.get_by_text("was sent to the moderators")).to_be_visible()

        pm.goto(f"{url}/auth/sign_in")
        sign_in(pm, url, mod)
        pm.goto(f"{url}/admin")
        report = pm.locator("section.report").filter(has_text=f"spoilers {tag}")
        expect(report).to_be_visible()
        screenshot(pm, f"admin-{'js' if js else 'nojs'}")
        report.get_by_role("button", name=re.compile("^Resolve report")).click()
        expect(pm.get_by_text("Report resolved.")).to_be_visible()
        pm.goto(f"{url}/admin?resolved=1")
        report = pm.locator("section.report").filter(has_text=f"spoilers {tag}")
        report.get_by_label(f"Action on @{author}").select_option("suspend")
        report.get_by_label("Reason (shown to the account)").fill(f"spoiling {tag}")
        report.get_by_role("button", name=f"Apply to @{author}").click()
        expect(pm.get_by_text("Action taken.")).to_be_visible()

        pa.goto(url)
        expect(pa.get_by_text("Your account is suspended")).to_be_visible()
        expect(pa.get_by_text(f"spoiling {tag}")).to_be_visible()
        screenshot(pa, f"suspended-{'js' if js else 'nojs'}")
        pf.goto(f"{url}/@{author}")
        expect(pf.get_by_role("heading", name="Not found")).to_be_visible()

        pm.goto(f"{url}/admin")
        pm.get_by_label(f"Reason for lifting @{author}'s suspension").fill("one more chance")
        pm.get_by_role("button", name=f"Unsuspend @{author}").click()
        expect(pm.get_by_text("Suspension lifted.")).to_be_visible()
        pa.goto(url)
        expect(pa.get_by_role("heading", name="Home", level=1)).to_be_visible()
        screenshot(pa, f"home-{'js' if js else 'nojs'}")
        pf.goto(f"{url}/@{author}")
        expect(pf.get_by_role("article").filter(has_text="film spoilers").first).to_be_visible()
    finally:
        for context in (a, f, m):
            context.close()


def test_keyboard_shortcuts_never_fire_in_text_fields(chromium, live_server):
    context = chromium.new_context()
    try:
        page = context.new_page()
        sign_up(page, live_server.url, f"keys_{uuid.uuid4().hex[:6]}")
        post(page, "first")
        post(page, "second")
        page.locator("body").press("j")
        expect(page.locator("article.status").first).to_be_focused()
        page.keyboard.press("j")
        expect(page.locator("article.status").nth(1)).to_be_focused()
        page.keyboard.press("k")
        expect(page.locator("article.status").first).to_be_focused()
        page.keyboard.press("n")
        box = page.get_by_label("What's on your mind?")
        expect(box).to_be_focused()
        page.keyboard.type("jk?n")
        expect(box).to_have_value("jk?n")
        expect(page.locator("#shortcuts-dialog")).not_to_be_visible()
        page.locator("body").click(position={"x": 5, "y": 5})
        page.keyboard.press("?")
        expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    finally:
        context.close()
