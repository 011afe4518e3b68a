"""The admin console in headless Chromium: login, dashboard, profile search and page (graph with
merge evidence on hover, split), the drag-and-drop segment builder with live preview and the text
form, destinations with runs and errors, read-only tokens, and an axe-core accessibility check.

Data goes in through the live API (or the sync engine, for runs); assertions read the page and the
API. Every page fails its test on a console error (tests/browser/conftest.py)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ADMIN_TOKEN, READ_TOKEN

AXE = Path(__file__).resolve().parents[2] / "console" / "node_modules" / "axe-core" / "axe.min.js"


def sign_in(page, token: str = ADMIN_TOKEN, hash_: str = "#/") -> None:
    page.add_init_script(f"sessionStorage.setItem('cdp.console.token', {token!r})")
    page.goto(f"/console/{hash_}")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()


def identify(user: str, anon: str, **traits) -> dict:
    return {"type": "identify", "userId": user, "anonymousId": anon, "traits": traits}


_ids = iter(range(1, 1_000_000))


def track(event: str, **ids) -> dict:
    # Its own messageId: without one the API derives it from the content, so twins would be one event.
    return {"type": "track", "event": event, "messageId": f"m-{next(_ids)}", **ids}


def people_for_segments(ingest) -> None:
    """Three pro-plan people, two of whom completed an order, and one free-plan person who did too."""
    ingest([identify("u-ann", "a-ann", email="ann@example.org", plan="pro"),
            identify("u-bob", "a-bob", email="bob@example.org", plan="pro"),
            identify("u-cy", "a-cy", email="cy@example.org", plan="pro"),
            identify("u-dee", "a-dee", email="dee@example.org", plan="free"),
            track("Order Completed", userId="u-ann"), track("Order Completed", userId="u-bob"),
            track("Order Completed", userId="u-dee"), track("Viewed Product", userId="u-cy")])


def test_login_refuses_an_unknown_token_then_signs_in(page, request, screenshot):
    request.node.allowed_problems = ("401 (Unauthorized)",)  # the refused whoami call
    page.goto("/console/")
    expect(page.get_by_role("heading", name="Graph CDP console")).to_be_visible()
    page.get_by_label("Admin token").fill("not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not known")
    screenshot("refused")
    page.get_by_label("Admin token").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_text("admin token")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Admin token")).to_be_visible()


def test_dashboard_shows_volume_per_source_and_top_events(page, ingest, screenshot):
    ingest([track("Signed Up", anonymousId="a1"), track("Signed Up", anonymousId="a2"),
            track("Order Completed", anonymousId="a1"), {"type": "page", "anonymousId": "a3", "name": "Home"}])
    ingest([track("Invoice Paid", userId="u9"), track("Invoice Paid", userId="u9"), track("Invoice Paid", userId="u8")],
           write_key="browser-server-key")
    sign_in(page)
    expect(page.get_by_test_id("totals-events")).to_have_text("7")
    expect(page.get_by_test_id("window-events")).to_have_text("7")
    sources = page.get_by_test_id("sources-table")
    expect(sources.locator("tbody tr")).to_have_count(2)
    expect(sources.locator("tbody tr").first).to_contain_text(re.compile(r"web\s*4"))
    expect(sources.locator("tbody tr").nth(1)).to_contain_text(re.compile(r"server\s*3"))
    top = page.get_by_test_id("top-events-table").locator("tbody tr")
    expect(top.first).to_contain_text(re.compile(r"Invoice Paid\s*3"))
    expect(top.nth(1)).to_contain_text(re.compile(r"Signed Up\s*2"))
    expect(page.locator("figure.volume svg rect")).to_have_count(2)  # one bucket, two sources stacked
    page.get_by_label("Window", exact=True).select_option("168")
    expect(page.get_by_role("heading", name=re.compile("daily"))).to_be_visible()
    screenshot("dashboard")


def test_profile_search_page_graph_evidence_on_hover(page, ingest, api, screenshot):
    ingest([{"type": "page", "anonymousId": "visitor-1", "name": "Pricing"},
            track("Viewed Product", anonymousId="visitor-1"),
            identify("user-1", "visitor-1", email="Ann@Example.org", plan="pro"),
            track("Order Completed", userId="user-1")])
    joined_by = api.get("/v1/profiles/user_id:user-1/explain",
                        params={"a": "anonymous_id:visitor-1", "b": "user_id:user-1"}).json()["path"][0]["messageId"]
    assert api.post("/v1/segments", json={"name": "Pro plan", "text": "traits.plan = 'pro'"}).status_code == 201
    sign_in(page, hash_="#/profiles")
    page.get_by_label("Search profiles").fill("ann@")
    page.get_by_role("button", name="Search").click()
    results = page.get_by_test_id("profile-results")
    expect(results).to_contain_text("email: ann@example.org")
    results.locator("a").first.click()

    expect(page.get_by_test_id("profile-id")).to_be_visible()
    expect(page.get_by_test_id("traits-table")).to_contain_text("pro")
    expect(page.get_by_test_id("profile-segments").get_by_role("link", name="Pro plan")).to_be_visible()
    expect(page.get_by_test_id("computed-table")).to_contain_text("Order Completed (count)")
    timeline = page.get_by_test_id("timeline")
    expect(timeline.locator("li")).to_have_count(4)
    expect(timeline.locator("li").first).to_contain_text("Order Completed")
    expect(page.get_by_test_id("evidence-table")).to_contain_text(joined_by)

    # Hover the edge that joined the visitor and the user: the tooltip names the joining message.
    graph = page.locator("#identity-graph")
    expect(graph.locator("canvas").first).to_be_visible()
    point = graph.evaluate("""el => {
        const e = el.cy.edges('[kind = "seen_with"][source = "anonymous_id:visitor-1"], [kind = "seen_with"][target = "anonymous_id:visitor-1"]')[0];
        return e.renderedMidpoint();
    }""")
    box = graph.bounding_box()
    page.mouse.move(box["x"] + point["x"], box["y"] + point["y"])
    tooltip = page.locator("#graph-tooltip")
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text(joined_by)
    expect(tooltip).to_contain_text("Seen together")
    screenshot("profile")

    page.get_by_label("Show").select_option("track")
    expect(timeline.locator("li")).to_have_count(2)


def test_split_from_the_profile_page(page, ingest, api, screenshot):
    ingest([identify("user-2", "shared-tablet", email="pat@example.org"),
            track("Viewed Product", anonymousId="shared-tablet")])
    profile = api.get("/v1/profiles/user_id:user-2").json()["id"]
    sign_in(page, hash_=f"#/profiles/{profile}")
    split = page.locator("#split-button")
    expect(split).to_be_disabled()
    page.get_by_label("Select anonymous_id:shared-tablet for a split").check()
    expect(split).to_have_text("Split 1 selected off…")
    # The graph selection follows the checkbox.
    assert page.locator("#identity-graph").evaluate("el => el.cy.$('node:selected').map(n => n.id())") == [
        "anonymous_id:shared-tablet"]
    split.click()
    dialog = page.get_by_role("dialog", name="Split identifiers into a new profile")
    expect(dialog).to_contain_text("anonymous_id:shared-tablet")
    dialog.get_by_label("Reason").fill("shared tablet")
    dialog.get_by_role("button", name="Split").click()
    link = page.get_by_test_id("new-profile-link")
    expect(link).to_be_visible()
    new_profile = link.inner_text()
    assert api.get("/v1/profiles/anonymous_id:shared-tablet").json()["id"] == new_profile != profile
    assert api.get("/v1/profiles/user_id:user-2").json()["id"] == profile
    expect(page.get_by_test_id("history")).to_contain_text("shared tablet")
    screenshot("after-split")


def drop_block(page, kind: str, into: str = "#builder .drop-zone") -> None:
    page.locator(f"[data-block='{kind}']").drag_to(page.locator(into).last)


def test_segment_built_by_dragging_blocks_previews_the_right_count(page, ingest, api, screenshot):
    people_for_segments(ingest)
    sign_in(page, hash_="#/segments/new")
    count = page.locator("#preview-count")
    expect(count).to_have_text("–")

    drop_block(page, "trait")
    page.get_by_label("Trait name").fill("plan")
    page.get_by_label("Trait value").fill("pro")
    expect(count).to_have_text("3")
    expect(page.locator("#segment-text")).to_have_value("traits.plan = 'pro'")

    drop_block(page, "event")
    page.get_by_label("Event name").fill("Order Completed")
    expect(count).to_have_text("2")
    expect(page.locator("#segment-text")).to_have_value(
        "traits.plan = 'pro' AND performed('Order Completed') WITHIN 30 DAYS")
    screenshot("and")

    # ALL -> ANY: pro plan or ordered = 4 people.
    page.get_by_label("Group combines with").select_option("or")
    expect(count).to_have_text("4")
    page.get_by_label("Group combines with").select_option("and")
    expect(count).to_have_text("2")

    page.get_by_label("Name", exact=True).fill("Pro buyers")
    page.get_by_role("button", name="Save segment").click()
    expect(page.get_by_role("heading", name="Segment: Pro buyers")).to_be_visible()
    segments = api.get("/v1/segments").json()["segments"]
    assert [(s["name"], s["memberCount"]) for s in segments] == [("Pro buyers", 2)]
    members = {api.get(f"/v1/profiles/user_id:{u}").json()["id"] for u in ("u-ann", "u-bob")}
    expect(page.get_by_test_id("members-table").locator("tbody tr")).to_have_count(2)
    assert set(page.get_by_test_id("members-table").locator("tbody tr td:first-child").all_inner_texts()) == members
    expect(page.get_by_test_id("segment-feed").locator("li")).to_have_count(2)
    expect(page.get_by_test_id("segment-feed")).to_contain_text("entered")
    screenshot("saved")
    page.get_by_role("link", name="Segments").click()
    expect(page.get_by_test_id("segments-table")).to_contain_text("Pro buyers")


def test_nested_group_dragging_and_negation(page, ingest, screenshot):
    people_for_segments(ingest)
    sign_in(page, hash_="#/segments/new")
    count = page.locator("#preview-count")
    drop_block(page, "trait")
    page.get_by_label("Trait name").fill("plan")
    page.get_by_label("Trait value").fill("pro")
    expect(count).to_have_text("3")
    # An ANY group inside the ALL group, with two event blocks dropped into it.
    drop_block(page, "or")
    inner = "#builder .block-or .drop-zone"
    drop_block(page, "event", inner)
    drop_block(page, "event", inner)
    names = page.get_by_label("Event name")
    names.nth(0).fill("Order Completed")
    names.nth(1).fill("Viewed Product")
    expect(count).to_have_text("3")  # ann, bob (ordered), cy (viewed)
    # NOT on the ANY group: pro-plan people who did neither = nobody.
    page.locator("#builder .block-or > .block-head .negate input").check()
    expect(count).to_have_text("0")
    expect(page.locator("#segment-text")).to_have_value(re.compile(r"^traits\.plan = 'pro' AND NOT \("))
    screenshot("nested")
    # Dragging the first event block out of the group onto the root's drop zone moves it.
    page.locator("#builder .block-or .block-event").first.drag_to(page.locator("#builder > .group > .block-body > .drop-zone"))
    expect(page.locator("#builder .block-or .block-event")).to_have_count(1)
    expect(page.locator("#builder .block-event")).to_have_count(2)


def test_text_form_rebuilds_blocks_and_shows_syntax_errors(page, ingest, request, screenshot):
    request.node.allowed_problems = ("400 (Bad Request)",)  # the deliberate syntax error
    people_for_segments(ingest)
    sign_in(page, hash_="#/segments/new")
    text = page.locator("#segment-text")
    text.fill("traits.plan = ")
    page.get_by_role("button", name="Apply text to blocks").click()
    expect(page.locator("#text-status")).to_contain_text("at position 14")
    text.fill("traits.plan = 'free' OR performed('Viewed Product') >= 1")
    page.get_by_role("button", name="Apply text to blocks").click()
    expect(page.locator("#preview-count")).to_have_text("2")  # dee (free), cy (viewed)
    expect(page.get_by_label("Group combines with")).to_have_value("or")
    expect(page.get_by_label("Trait value")).to_have_value("free")
    expect(page.get_by_label("Event name")).to_have_value("Viewed Product")
    screenshot("from-text")


def test_destinations_show_sync_runs_and_their_errors(page, engine, store, settings, resend_fake, screenshot):
    from tests.destinations.conftest import destination, people, run_now, segment, sync

    emails = list(people(store, settings, 3))
    resend_fake.reject.add(emails[1])
    seg = segment(store.driver, settings)
    dest = destination(engine, "resend", {"audienceId": "aud_1"}, {"apiKey": resend_fake.api_key})
    run = run_now(engine, sync(engine, seg, dest["id"]))
    assert run["failed"] == 1
    sign_in(page, hash_="#/destinations")
    card = page.get_by_test_id("destination")
    expect(card).to_contain_text("resend test")
    runs = card.get_by_test_id("runs-table")
    expect(runs.locator("tbody tr")).to_have_count(1)
    expect(runs.locator("tbody tr").first).to_contain_text(run["status"])
    expect(card.get_by_test_id("dead-letters").locator("tbody tr")).to_have_count(1)
    screenshot("destinations")
    card.get_by_role("button", name="Run now").click()
    expect(page.get_by_role("status").filter(has_text="queued")).to_be_visible()
    expect(runs.locator("tbody tr")).to_have_count(2)


def test_dead_letters_are_sent_again_from_the_console(page, engine, store, settings, resend_fake):
    from tests.destinations.conftest import destination, people, run_now, segment, sync

    emails = list(people(store, settings, 2))
    resend_fake.reject.add(emails[0])
    seg = segment(store.driver, settings)
    dest = destination(engine, "resend", {"audienceId": "aud_1"}, {"apiKey": resend_fake.api_key})
    assert run_now(engine, sync(engine, seg, dest["id"]))["failed"] == 1
    sign_in(page, hash_="#/destinations")
    card = page.get_by_test_id("destination")
    card.get_by_role("button", name="Send dead letters again").click()
    expect(page.get_by_role("status").filter(has_text="send the dead letters again")).to_be_visible()
    runs = card.get_by_test_id("runs-table")
    expect(runs.locator("tbody tr")).to_have_count(2)
    expect(runs.locator("tbody tr").first).to_contain_text("dead_letters")


def test_read_token_sees_but_cannot_change(page, ingest, api):
    ingest([identify("user-3", "anon-3", email="ro@example.org")])
    profile = api.get("/v1/profiles/user_id:user-3").json()["id"]
    sign_in(page, token=READ_TOKEN, hash_=f"#/profiles/{profile}")
    expect(page.get_by_text("read token")).to_be_visible()
    page.get_by_label("Select anonymous_id:anon-3 for a split").check()
    expect(page.locator("#split-button")).to_be_disabled()
    page.goto("/console/#/segments/new")
    expect(page.get_by_role("button", name="Save segment")).to_be_disabled()


@pytest.mark.parametrize("hash_", ["#/", "#/profiles", "profile", "#/segments/new", "segment", "#/destinations"])
def test_pages_pass_axe_accessibility_checks(page, ingest, api, hash_):
    """No serious or critical axe-core violations (WCAG 2 A/AA rules) on any page."""
    ingest([identify("user-4", "anon-4", email="axe@example.org", plan="pro"), track("Order Completed", userId="user-4")])
    if hash_ == "profile":
        hash_ = f"#/profiles/{api.get('/v1/profiles/user_id:user-4').json()['id']}"
    elif hash_ == "segment":
        created = api.post("/v1/segments", json={"name": "Pro", "text": "traits.plan = 'pro'"})
        hash_ = f"#/segments/{created.json()['id']}"
    sign_in(page, hash_=hash_)
    expect(page.locator("main h1")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert_accessible(page)


def assert_accessible(page) -> None:
    """No serious or critical axe-core violations of the WCAG 2 A/AA rules on what the page shows."""
    # Served same-origin through a route: the console's CSP refuses inline and foreign scripts.
    page.route("**/console/__axe.js", lambda route: route.fulfill(path=str(AXE), content_type="text/javascript"))
    page.add_script_tag(url="/console/__axe.js")
    result = page.evaluate("""async () => {
        const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa'] } });
        return r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
            .map(v => ({ id: v.id, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')) }));
    }""")
    assert result == []


def test_builder_works_without_a_mouse(page, ingest):
    """Palette blocks are buttons: Enter adds one to the group marked "adding here"."""
    people_for_segments(ingest)
    sign_in(page, hash_="#/segments/new")
    page.locator("[data-block='or']").focus()
    page.keyboard.press("Enter")  # the new ANY group becomes the target
    expect(page.locator("#builder .block-or .target")).to_have_text("adding here")
    page.locator("[data-block='trait']").focus()
    page.keyboard.press("Enter")
    page.locator("[data-block='trait']").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#builder .block-or .block-trait")).to_have_count(2)
    names, values = page.get_by_label("Trait name"), page.get_by_label("Trait value")
    names.nth(0).fill("plan")
    values.nth(0).fill("free")
    names.nth(1).fill("email")
    values.nth(1).fill("ann@example.org")
    expect(page.locator("#preview-count")).to_have_text("2")  # dee (free) or ann (by email)
    page.get_by_role("button", name="Remove Trait").first.click()
    expect(page.locator("#preview-count")).to_have_text("1")


def focused_label(page) -> str | None:
    return page.evaluate("document.activeElement.getAttribute('aria-label') || document.activeElement.textContent")


def test_builder_keyboard_moves_keep_focus(page, ingest):
    """Negate, move up/down/out and remove from the keyboard; focus stays where the user is."""
    people_for_segments(ingest)
    sign_in(page, hash_="#/segments/new")
    page.get_by_text("Text form").click()
    page.locator("#segment-text").fill(
        "traits.plan = 'pro' AND (performed('Order Completed') OR performed('Viewed Product'))")
    page.get_by_role("button", name="Apply text to blocks").click()
    expect(page.locator("#preview-count")).to_have_text("3")

    negate = page.get_by_label("Negate ANY group")
    negate.focus()
    page.keyboard.press("Space")
    expect(page.locator("#preview-count")).to_have_text("0")
    assert focused_label(page) == "Negate ANY group"
    page.keyboard.press("Space")
    expect(page.locator("#preview-count")).to_have_text("3")

    # The second event block moves up inside its group, then out of it (after the group).
    page.get_by_role("button", name="Move Performed event up").nth(1).focus()
    page.keyboard.press("Enter")
    events = page.locator("#builder .block-or .block-event input[aria-label='Event name']")
    expect(events.first).to_have_value("Viewed Product")
    page.get_by_role("button", name="Move Performed event out of its group").first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#builder .block-or .block-event")).to_have_count(1)
    root_children = page.locator("#builder > .group > .block-body > .group-children > .block")
    expect(root_children).to_have_count(3)
    expect(root_children.nth(2)).to_have_attribute("data-type", "event")
    # Focus stays in the moved block (now at the root, where it has no "out" button).
    assert page.evaluate("document.activeElement.closest('[data-id]').dataset.id") == root_children.nth(2).get_attribute("data-id")
    expect(page.locator("#preview-count")).to_have_text("0")  # pro, ordered and viewed: nobody
    expect(page.locator("#segment-text")).to_have_value(
        "traits.plan = 'pro' AND performed('Order Completed') AND performed('Viewed Product')")

    page.get_by_role("button", name="Remove Performed event").last.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#builder .block-event")).to_have_count(1)
    assert focused_label(page) in ("add here", "adding here")


def test_double_negation_in_text_is_kept_as_its_meaning(page, ingest):
    people_for_segments(ingest)
    sign_in(page, hash_="#/segments/new")
    page.locator("#segment-text").fill("NOT NOT traits.plan = 'pro'")
    page.get_by_role("button", name="Apply text to blocks").click()
    expect(page.locator("#preview-count")).to_have_text("3")
    expect(page.locator("#segment-text")).to_have_value("traits.plan = 'pro'")
    expect(page.get_by_label("Negate Trait")).not_to_be_checked()


def test_read_token_previews_a_saved_segment(page, api):
    """Preview changes nothing, so read scope may call it: no 403 on a saved segment's page."""
    created = api.post("/v1/segments", json={"name": "Pro", "text": "traits.plan = 'pro'"}).json()
    sign_in(page, token=READ_TOKEN, hash_=f"#/segments/{created['id']}")
    expect(page.locator("#preview-count")).to_have_text("0")
    expect(page.get_by_role("button", name="Save changes")).to_be_disabled()


def test_search_finds_nothing_or_opens_an_external_id(page, ingest, api):
    ingest([identify("user-5", "anon-5", email="sam@example.org")])
    sign_in(page, hash_="#/profiles")
    page.get_by_label("Search profiles").fill("nobody-like-this")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("status")).to_contain_text("No profile matches")
    page.get_by_label("Search profiles").fill("email:sam@example.org")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("profile-id")).to_have_text(api.get("/v1/profiles/user_id:user-5").json()["id"])


def test_a_merge_shows_on_the_graph_with_its_message(page, ingest, api, screenshot):
    """A visitor's profile and a user's profile, then the identify that joins them: the retired
    profile hangs off the survivor, and hovering the merge names the identify's messageId."""
    ingest([track("Viewed Pricing", anonymousId="visitor-9")])
    ingest([track("Logged In", userId="user-9")])
    ingest([{**identify("user-9", "visitor-9", email="nine@example.org"), "messageId": "the-joining-identify"}])
    history = api.get("/v1/profiles/user_id:user-9/history").json()
    assert [m["messageId"] for m in history["merges"]] == ["the-joining-identify"]
    sign_in(page, hash_=f"#/profiles/{history['profileId']}")
    graph = page.locator("#identity-graph")
    expect(graph.locator("canvas").first).to_be_visible()
    point = graph.evaluate("el => el.cy.edges('[kind = \"merged_into\"]')[0].renderedMidpoint()")
    box = graph.bounding_box()
    page.mouse.move(box["x"] + point["x"], box["y"] + point["y"])
    tooltip = page.locator("#graph-tooltip")
    expect(tooltip).to_contain_text("merged into")
    expect(tooltip).to_contain_text("by message the-joining-identify")
    expect(page.get_by_test_id("history")).to_contain_text("the-joining-identify")
    screenshot("merge")


def test_add_a_destination_and_a_sync_from_the_console(page, ingest, api, request, screenshot):
    request.node.allowed_problems = ("400 (Bad Request)",)  # the deliberately bad URL
    people_for_segments(ingest)
    segment = api.post("/v1/segments", json={"name": "Pro", "text": "traits.plan = 'pro'"}).json()
    sign_in(page, hash_="#/destinations")
    page.get_by_text("Add a destination").click()
    form = page.locator("#add-destination")
    form.get_by_label("Name").fill("Ops webhook")
    form.get_by_label("Type").select_option("webhook")
    form.get_by_label("url").fill("ftp://nowhere")
    form.get_by_label("signingSecret (secret)").fill("whsec-console-test")
    form.get_by_role("button", name="Add destination").click()
    expect(form.get_by_role("alert")).to_contain_text("config.url: must be an absolute http(s) URL")
    assert api.get("/v1/destinations").json()["destinations"] == []

    form.get_by_label("url").fill("https://hooks.example.org/cdp")
    form.get_by_role("button", name="Add destination").click()
    expect(page.get_by_role("status").filter(has_text="Ops webhook")).to_be_visible()
    [dest] = api.get("/v1/destinations").json()["destinations"]
    assert dest["type"] == "webhook" and dest["config"]["url"] == "https://hooks.example.org/cdp"
    assert "whsec-console-test" not in str(dest)  # secrets never come back

    card = page.get_by_test_id("destination")
    card.get_by_text("Sync a segment to Ops webhook").click()
    card.get_by_label("Segment").select_option(segment["id"])
    card.get_by_label("Schedule").select_option("900")
    card.get_by_role("button", name="Add sync").click()
    expect(page.get_by_test_id("sync")).to_contain_text("every 15 min")
    [sync] = api.get("/v1/syncs").json()["syncs"]
    assert (sync["segmentId"], sync["destinationId"], sync["schedule"]["intervalSeconds"]) == (
        segment["id"], dest["id"], 900)
    screenshot("added")
    page.get_by_text("Add a destination").click()
    card.get_by_text("Sync a segment to Ops webhook").click()
    assert_accessible(page)  # with both forms open


def test_read_token_gets_no_forms_on_destinations(page):
    sign_in(page, token=READ_TOKEN, hash_="#/destinations")
    expect(page.get_by_role("heading", name="Destinations")).to_be_visible()
    expect(page.get_by_text("Add a destination")).to_have_count(0)
