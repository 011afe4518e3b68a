"""Materialised membership kept current: touched profiles, merges, splits, time windows, dependent
segments, and the entry/exit feed (gap-free, ordered, one change per real change)."""
import time
from concurrent.futures import ThreadPoolExecutor

from app.segments import membership, service
from app.segments.membership import changes_since
from app.segments.text import parse_text
from app.segments.upkeep import upkeep
from tests.helpers import ADMIN
from tests.identity.factory import ingest, msg

DAY = 86_400_000


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + "Z"


def _segment(driver, text: str) -> str:
    return service.create_segment(driver, "neo4j", text[:40], None, parse_text(text))["id"]


def _members(driver, segment_id: str) -> set[str]:
    return {m["profileId"] for m in service.members(driver, "neo4j", segment_id, None, 1000)["members"]}


def _profile(driver, key: str) -> str:
    records, _, _ = driver.execute_query("MATCH (:Identifier {key: $k})-[:BELONGS_TO]->(p:Profile) RETURN p.id AS id",
                                         k=key)
    return records[0]["id"]


def _feed(driver, segment_id: str, after: int = 0) -> list[tuple[int, str, str]]:
    return [(c["seq"], c["profileId"], c["kind"]) for c in changes_since(driver, "neo4j", segment_id, after)["changes"]]


def test_touched_profiles_enter_and_exit_and_the_feed_records_both(store, settings, clean_db):
    pro = _segment(clean_db, "traits.plan = 'pro'")
    first = ingest(store, settings, [msg("identify", userId="m1", traits={"plan": "pro"})])
    assert upkeep(clean_db, "neo4j", first.touched_profiles)["changes"] == 1
    p1 = _profile(clean_db, "user_id:m1")
    assert _members(clean_db, pro) == {p1}
    assert upkeep(clean_db, "neo4j", first.touched_profiles)["changes"] == 0  # idempotent
    second = ingest(store, settings, [msg("identify", userId="m1", traits={"plan": "free"})])
    upkeep(clean_db, "neo4j", second.touched_profiles)
    assert _members(clean_db, pro) == set()
    assert _feed(clean_db, pro) == [(1, p1, "enter"), (2, p1, "exit")]
    assert _feed(clean_db, pro, after=1) == [(2, p1, "exit")]
    doc = service.get_segment(clean_db, "neo4j", pro)
    assert doc["memberCount"] == 0 and doc["latestSeq"] == 2


def test_merge_retires_the_loser_and_re_evaluates_the_survivor(store, settings, clean_db):
    once = _segment(clean_db, "performed('Checkout') >= 1")
    twice = _segment(clean_db, "performed('Checkout') >= 2")
    r1 = ingest(store, settings, [msg("track", anonymousId="dev-1", event="Checkout")])
    r2 = ingest(store, settings, [msg("track", userId="buyer", event="Checkout")])
    upkeep(clean_db, "neo4j", r1.touched_profiles | r2.touched_profiles)
    device, user = _profile(clean_db, "anonymous_id:dev-1"), _profile(clean_db, "user_id:buyer")
    assert _members(clean_db, once) == {device, user} and _members(clean_db, twice) == set()
    merge = ingest(store, settings, [msg("identify", userId="buyer", anonymousId="dev-1")])
    assert merge.retired
    upkeep(clean_db, "neo4j", merge.touched_profiles | set(merge.retired) | set(merge.retired.values()))
    survivor = _profile(clean_db, "user_id:buyer")
    loser = ({device, user} - {survivor}).pop()
    assert _members(clean_db, once) == {survivor} and _members(clean_db, twice) == {survivor}
    assert _feed(clean_db, once)[-1] == (3, loser, "exit")
    assert _feed(clean_db, twice) == [(1, survivor, "enter")]


def test_a_split_updates_both_sides(client, store, settings, clean_db):
    twice = _segment(clean_db, "performed('Checkout') >= 2")
    ingest(store, settings, [msg("track", anonymousId="dev-2", event="Checkout"),
                             msg("track", userId="splitter", event="Checkout")])
    merged = ingest(store, settings, [msg("identify", userId="splitter", anonymousId="dev-2")])
    upkeep(clean_db, "neo4j", merged.touched_profiles | set(merged.retired))
    kept = _profile(clean_db, "user_id:splitter")
    assert _members(clean_db, twice) == {kept}
    r = client.post("/v1/profiles/user_id:splitter/split", json={"identifiers": ["anonymous_id:dev-2"]}, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert _members(clean_db, twice) == set()
    assert _feed(clean_db, twice)[-1][1:] == (kept, "exit")


def test_time_windows_age_out_on_refresh_and_only_time_dependent_segments_are_refreshed(store, settings, clean_db):
    now = membership.now_ms()
    ingest(store, settings, [msg("track", userId="w1", event="Login", timestamp=_iso(now - DAY))])
    recent = _segment(clean_db, "performed('Login') WITHIN 7 DAYS")
    lapsed = _segment(clean_db, "performed('Login') >= 1 AND NOT performed('Login') WITHIN 7 DAYS")
    ever = _segment(clean_db, "performed('Login') >= 1")
    w1 = _profile(clean_db, "user_id:w1")
    assert (_members(clean_db, recent), _members(clean_db, lapsed)) == ({w1}, set())
    # Break the time-independent segment's membership: a window refresh must not touch it.
    clean_db.execute_query("MATCH (:Segment {id: $id})<-[r:IN_SEGMENT]-() DELETE r", id=ever)
    report = membership.refresh(clean_db, "neo4j", now=now + 7 * DAY)
    assert report["segments"] == 2
    assert (_members(clean_db, recent), _members(clean_db, lapsed)) == (set(), {w1})
    assert _feed(clean_db, recent)[-1][1:] == (w1, "exit") and _feed(clean_db, lapsed) == [(1, w1, "enter")]
    assert _members(clean_db, ever) == set()
    membership.refresh(clean_db, "neo4j", now=now + 7 * DAY, everything=True)  # the reconcile repairs it
    assert _members(clean_db, ever) == {w1}
    assert service.get_segment(clean_db, "neo4j", ever)["memberCount"] == 1


def test_segments_using_other_segments_follow_them(store, settings, clean_db):
    pro = _segment(clean_db, "traits.plan = 'pro'")
    active_pro = _segment(clean_db, f"in_segment('{pro}') AND performed('Open') >= 1")
    not_pro = _segment(clean_db, f"NOT in_segment('{pro}')")
    r = ingest(store, settings, [msg("identify", userId="d1", traits={"plan": "pro"}),
                                 msg("track", userId="d1", event="Open")])
    upkeep(clean_db, "neo4j", r.touched_profiles)
    d1 = _profile(clean_db, "user_id:d1")
    assert (_members(clean_db, active_pro), _members(clean_db, not_pro)) == ({d1}, set())
    r = ingest(store, settings, [msg("identify", userId="d1", traits={"plan": "free"})])
    upkeep(clean_db, "neo4j", r.touched_profiles)  # one call: dependents see the new membership
    assert (_members(clean_db, active_pro), _members(clean_db, not_pro)) == (set(), {d1})
    # Redefining the base segment re-evaluates the segments built on it.
    service.update_segment(clean_db, "neo4j", pro, "pro or free", None, parse_text("traits.plan IN ('pro', 'free')"))
    assert (_members(clean_db, active_pro), _members(clean_db, not_pro)) == ({d1}, set())


def test_upkeep_notices_a_segment_saved_after_its_definitions_were_cached(store, settings, clean_db):
    r = ingest(store, settings, [msg("identify", userId="c1", traits={"plan": "pro"})])
    upkeep(clean_db, "neo4j", r.touched_profiles)  # caches the (empty) catalogue
    pro = _segment(clean_db, "traits.plan = 'pro' AND traits.seats > 1")
    r = ingest(store, settings, [msg("identify", userId="c1", traits={"seats": 5})])
    assert upkeep(clean_db, "neo4j", r.touched_profiles)["changes"] == 1
    assert _members(clean_db, pro) == {_profile(clean_db, "user_id:c1")}


def test_concurrent_upkeep_keeps_the_feed_gap_free_with_one_change_per_flip(store, settings, clean_db):
    flag = _segment(clean_db, "traits.flag = true")
    ingest(store, settings, [msg("identify", userId=f"f{n}", traits={"flag": True}) for n in range(30)])
    ids = [_profile(clean_db, f"user_id:f{n}") for n in range(30)]
    for value in (True, False, True):
        clean_db.execute_query("UNWIND $ids AS id MATCH (p:Profile {id: id}) SET p['t.flag'] = $v", ids=ids, v=value)
        with ThreadPoolExecutor(4) as pool:  # .result() re-raises what a worker thread hit
            reports = [f.result() for f in [pool.submit(upkeep, clean_db, "neo4j", ids[k:] + ids[:k])
                                            for k in (0, 7, 15, 22)]]
        assert sum(r["changes"] for r in reports) == 30  # each flip once, whichever thread got there
        assert len(_members(clean_db, flag)) == (30 if value else 0)
    feed = _feed(clean_db, flag)
    assert [seq for seq, _, _ in feed] == list(range(1, 91))  # 3 flips x 30 profiles, no gaps, no repeats
    per_profile = {}
    for _, pid, kind in feed:
        per_profile.setdefault(pid, []).append(kind)
    assert all(kinds == ["enter", "exit", "enter"] for kinds in per_profile.values())


def test_retention_prunes_old_feed_entries_and_numbering_carries_on(store, settings, clean_db):
    pro = _segment(clean_db, "traits.plan = 'pro'")
    r = ingest(store, settings, [msg("identify", userId="r1", traits={"plan": "pro"})])
    upkeep(clean_db, "neo4j", r.touched_profiles)
    membership.prune_changes(clean_db, "neo4j", retention_days=1, now=membership.now_ms() + 2 * DAY)
    assert _feed(clean_db, pro) == []
    r = ingest(store, settings, [msg("identify", userId="r1", traits={"plan": "free"})])
    upkeep(clean_db, "neo4j", r.touched_profiles)
    assert [seq for seq, _, _ in _feed(clean_db, pro)] == [2]  # the gap shows what was pruned


def test_an_erased_profile_leaves_its_segments_through_the_feed(client, store, settings, clean_db):
    pro = _segment(clean_db, "traits.plan = 'pro'")
    first = ingest(store, settings, [msg("identify", userId="to-erase", traits={"plan": "pro"})])
    upkeep(clean_db, "neo4j", first.touched_profiles)
    erased = _profile(clean_db, "user_id:to-erase")
    assert _members(clean_db, pro) == {erased}
    assert client.delete("/v1/profiles/user_id:to-erase", headers=ADMIN).status_code == 200
    assert _members(clean_db, pro) == set()
    assert _feed(clean_db, pro) == [(1, erased, "enter"), (2, erased, "exit")]
    assert service.get_segment(clean_db, "neo4j", pro)["memberCount"] == 0


def test_a_late_sign_in_resolved_in_event_order_moves_membership_with_the_device(store, settings, clean_db):
    """The device's identify (name Ann) first lands on Bob's profile, whose sign-in arrived first;
    Ann's earlier sign-in, delivered late, takes the device back: the batch's result names both
    profiles, and upkeep moves the membership."""
    named = _segment(clean_db, "traits.name = 'Ann'")
    bob = ingest(store, settings, [msg("track", userId="bob", anonymousId="dev", timestamp="2026-01-02T00:00:00Z")])
    device = ingest(store, settings, [msg("identify", anonymousId="dev", traits={"name": "Ann"},
                                          timestamp="2026-01-03T00:00:00Z")])
    upkeep(clean_db, "neo4j", bob.touched_profiles | device.touched_profiles)
    bobs = _profile(clean_db, "user_id:bob")
    assert _members(clean_db, named) == {bobs}

    late = ingest(store, settings, [msg("track", userId="ann", anonymousId="dev", timestamp="2026-01-01T00:00:00Z")])
    assert [r.outcome for r in late.reresolved] == ["changed"]
    upkeep(clean_db, "neo4j", late.touched_profiles | set(late.retired))
    anns = _profile(clean_db, "user_id:ann")
    assert _members(clean_db, named) == {anns}
    feed = _feed(clean_db, named)
    assert feed[0] == (1, bobs, "enter") and {(p, kind) for _, p, kind in feed[1:]} == {(bobs, "exit"), (anns, "enter")}
    assert [seq for seq, _, _ in feed] == [1, 2, 3]
