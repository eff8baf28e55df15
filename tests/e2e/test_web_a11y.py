"""axe-core on every page route, signed out and signed in, in the light and the dark theme: no violations at all."""

from __future__ import annotations

import gzip
import re
import uuid

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.browser import AXE, chromium, make_admin, screenshot  # noqa: F401  (the shared browser fixture)
from tests.e2e.test_web_browser import post, sign_in, sign_up

JS_BUDGET = 20 * 1024  # gzipped bytes of script on any page but a Space page


# The dark theme changes only colours (app.css sets custom properties under prefers-color-scheme): its second
# pass over a page runs the rules that read colours; the first pass runs every rule.
COLOUR_RULES = ["color-contrast", "link-in-text-block"]  # the colour rules axe runs by default


def _violations(page, rules: list[str] | None = None) -> list[dict]:
    # Every rule axe has, at every impact level (best practices too), not only the WCAG A/AA tags.
    return page.evaluate("""async (rules) => {
        const options = {resultTypes: ['violations']};
        if (rules) options.runOnly = {type: 'rule', values: rules};
        const result = await axe.run(document, options);
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                            nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""", rules)


@pytest.fixture(scope="module")
def site(chromium, live_server):
    """A small populated site: an author with a post, a reply, a hashtag, a notification and a report; and a moderator."""
    tag = uuid.uuid4().hex[:6]
    names = {"author": f"axa_{tag}", "fan": f"axf_{tag}", "mod": f"axm_{tag}", "tag": tag}
    make_admin(live_server, names["mod"])
    context = chromium.new_context()
    page = context.new_page()
    sign_up(page, live_server.url, names["author"])
    post(page, f"Accessible #{tag} post", warning="a warning")
    post(page, f"A picture {tag}", image_alt="A green square")  # media, and a poll below, on every timeline
    post(page, f"A question {tag}", poll=("Yes", "No"))
    fan = chromium.new_context()
    fp = fan.new_page()
    sign_up(fp, live_server.url, names["fan"])
    fp.goto(f"{live_server.url}/@{names['author']}")
    fp.get_by_role("button", name="Follow").click()
    expect(fp.get_by_role("button", name="Unfollow")).to_be_visible()
    link = fp.get_by_role("article").first.get_by_role("link", name=re.compile("UTC"))
    names["status"] = link.get_attribute("href")
    fp.goto(live_server.url + names["status"])
    fp.get_by_label("Your reply").fill("a reply")
    fp.get_by_role("button", name="Reply", exact=True).click()
    fp.goto(f"{live_server.url}{names['status']}/report")
    fp.get_by_role("button", name="Send report").click()
    fan.close()
    context.close()
    return names


def _routes(names: dict, signed_in: bool) -> list[str]:
    common = ["/", "/public", "/public/local", f"/tags/{names['tag']}", f"/@{names['author']}",
              f"/@{names['author']}/with_replies", names["status"], f"/search?q={names['tag']}", "/about", "/spaces", "/no-such-page",
              "/explore", "/explore/tags", "/explore/links"]
    if not signed_in:
        return [*common, "/auth/sign_in", "/auth/sign_up"]
    return [*common, "/notifications", "/notifications?type=follow", "/settings", "/admin", "/admin?resolved=1",
            f"/@{names['author']}/report", f"{names['status']}/report", "/bookmarks", "/favourites", "/lists",
            names["list"], "/follow_requests",
            "/settings/preferences", "/settings/filters", "/settings/filters/new", names["filter"], "/settings/sessions",
            "/settings/blocks", "/settings/mutes", "/settings/warnings", "/settings/password", "/account_status",
            "/admin/appeals", "/admin/appeals?state=rejected", "/admin/log"]


def _moderator_settings(page, url: str, names: dict) -> None:
    """Give the signed-in moderator's settings and moderation pages something to list: a filter, a mute, a warning."""
    page.goto(f"{url}/settings/filters/new")
    page.get_by_label("Title").fill("Axe filter")
    page.get_by_label("Home and lists").check()
    page.get_by_label("New keyword 1").fill("spoiler")
    page.get_by_role("button", name="Create filter").click()
    names["filter"] = page.get_by_role("link", name="Edit filter “Axe filter”").get_attribute("href")
    page.goto(f"{url}/@{names['fan']}")
    page.get_by_role("button", name="Mute", exact=True).click()
    page.goto(f"{url}/admin?account={names['fan']}")
    lookup = page.locator("form", has=page.get_by_role("button", name=f"Apply to @{names['fan']}"))
    lookup.locator("input[name=text]").fill("a friendly warning")
    lookup.get_by_role("button").click()


def test_no_accessibility_violations_on_any_route_in_either_theme(chromium, live_server, site):
    found = {}
    for signed_in in (False, True):
        # axe is injected as a script, which our own CSP would refuse: only this test bypasses it.
        context = chromium.new_context(color_scheme="light", bypass_csp=True)
        page = context.new_page()
        routes = _routes(site, signed_in) if not signed_in else []
        if signed_in:
            sign_in(page, live_server.url, site["mod"])  # a moderator sees every page, /admin included
            page.goto(f"{live_server.url}/lists")
            page.get_by_label("Title").fill("Films")
            page.get_by_role("button", name="Create list").click()
            expect(page.get_by_role("heading", name="Films", level=1)).to_be_visible()
            site["list"] = page.url.removeprefix(live_server.url).split("?")[0]
            _moderator_settings(page, live_server.url, site)
            routes = _routes(site, signed_in)
            routes.append(_live_space_of(page, live_server.url))  # a host's page: the stage controls, the microphone
        for route in routes:
            page.goto(live_server.url + route)
            page.add_script_tag(path=str(AXE))
            for scheme in ("light", "dark"):  # the same page in both themes (prefers-color-scheme)
                page.emulate_media(color_scheme=scheme)
                violations = _violations(page, None if scheme == "light" else COLOUR_RULES)
                if violations:
                    found[f"{scheme} {'in' if signed_in else 'out'} {route}"] = violations
            if signed_in and route == site["status"]:
                screenshot(page, "status-dark")
        if signed_in:
            page.goto(live_server.url + routes[-1])
            page.get_by_role("button", name="End the space").click()
        context.close()
    assert found == {}


def _live_space_of(page, url: str) -> str:
    """Create and start a space as the signed-in user through its forms; return its page's path."""
    page.goto(url + "/spaces")
    page.get_by_label("Title").fill("An accessible space")
    page.get_by_role("button", name="Create the space").click()
    page.get_by_role("button", name="Start the space").click()
    expect(page.get_by_role("heading", name="Host controls")).to_be_visible()
    return page.url.removeprefix(url).split("?")[0]


def test_script_shipped_stays_within_budget(live_server):
    html = httpx.get(live_server.url + "/public/local").text
    sources = re.findall(r'<script src="([^"]+)"', html)
    assert any("htmx" in s for s in sources), "htmx is installed by the test command (scripts/install-assets)"
    total = sum(len(gzip.compress(httpx.get(live_server.url + s).content, 9)) for s in sources)
    print(f"JavaScript on a page: {total} bytes gzipped from {len(sources)} files")
    assert total <= JS_BUDGET
