"""Identity-resolution quality: the service (real ingest path into Neo4j) and a naive union-find,
scored against the ground truth of a seeded synthetic population.

    . .venv/bin/activate && python -m bench.identity_quality [--people 2000] [--seed 7]

Pairwise precision / recall / F1 over pairs of ground-truth identifiers ('user_id:x', 'anonymous_id:x',
'email:lower', 'phone:+E164'); junk values belong to nobody and are not scored, but joins through them
are. A device shared by two people counts as the first user's (event time); the JSON also has scores
without shared identifiers. The 'oracle' joins same-person identifiers wherever a message links them:
the ceiling any resolver can reach (an anonymous visitor's unlinked devices are unknowable), so the
service is also scored against that reachable truth.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

from app.auth import Keyring
from app.db import apply_schema, connect, query
from app.identity.rules import IdentityRules
from app.identity.store import IdentityStore
from app.ingest.service import IngestService
from app.settings import Settings
from tests.helpers import WIPE_GRAPH

ROOT = Path(__file__).resolve().parent.parent
GOAL_F1, GOAL_PRECISION = 0.98, 0.995
HOUR, DAY = 3_600_000, 86_400_000
T0_MS = int(datetime(2025, 1, 1, tzinfo=timezone.utc).timestamp() * 1000)
JUNK_USER_IDS = ["null", "undefined", "0"]  # a JS client stringifying a missing user
JUNK_ANON_IDS = ["00000000-0000-0000-0000-000000000000", "undefined", "null"]  # server calls, broken SDKs
JUNK_EMAILS = ["test@test.com", " Test@Test.com"]
JUNK_PHONES = ["000-000-0000", "1234567890"]  # what people type into a required phone field
FIRST = ["ann", "bob", "carla", "dev", "eli", "fatima", "gus", "hana", "ivan", "jo", "kim", "lee", "maya"]
LAST = ["smith", "garcia", "chen", "okafor", "novak", "patel", "rossi", "kim", "silva", "muller"]
DOMAINS = ["example.com", "mail.example.org", "inbox.example.net"]
AREAS = ["415", "212", "646", "312", "206", "617", "512", "303"]
FIELDS = (("userId",), ("anonymousId",), ("previousId",), ("traits", "email"), ("context", "traits", "email"),
          ("properties", "email"), ("traits", "phone"), ("context", "traits", "phone"),
          ("properties", "phone"))
SCORING = {
    "metric": "pairwise precision/recall/F1 over pairs of ground-truth identifiers, from cluster-size counts",
    "shared_identifiers": "attributed to who used them first (event time); 'excluding_shared' drops them",
    "junk": "blocked/test/fake values are nobody's identifier: not scored, but joins through them count",
    "baseline_mapping": "a ground-truth identifier takes the cluster of its most often sent raw spelling",
    "oracle": "same-person identifiers joined when they co-occur in a message: the reachable ceiling",
    "vs_reachable_truth": "the oracle partition used as truth: only what the messages make knowable",
}


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat(timespec="milliseconds")[:-6] + "Z"


class Population:
    """Seeded people, their Segment messages in delivery order, and the ground truth."""

    def __init__(self, n_people: int, seed: int):
        self.rng, self.stats = random.Random(seed), Counter()
        self.first_use: dict[str, tuple[int, int]] = {}  # gt key -> (first event ms, person)
        self.users: dict[str, set[int]] = defaultdict(set)  # gt key -> people who used it
        self.variants: dict[str, Counter] = defaultdict(Counter)  # gt key -> raw spellings sent
        self.timed: list[tuple] = []  # (delivered ms, seq, happened ms, message, gt keys)
        people = [self._person(i) for i in range(n_people)]
        logged = [p for p in people if p["uid"]]
        for p in logged:  # a family computer: someone else's device, used logged in
            other = self.rng.choice(logged)
            if self.rng.random() < 0.04 and other is not p and other["devices"][0] not in p["devices"]:
                p["devices"].append(other["devices"][0])
                self.stats["shared_devices"] += 1
        for i, p in enumerate(people):
            self._sessions(i, p)
        self.timed.sort(key=lambda r: (r[0], r[1]))
        self.messages, self.keys = [r[3] for r in self.timed], [r[4] for r in self.timed]
        latest = 0
        for _, _, happened, _, _ in self.timed:  # delivered after a message that happened later
            self.stats["late_messages"] += happened < latest
            latest = max(latest, happened)
        self.truth = {k: person for k, (_, person) in self.first_use.items()}
        self.shared = {k for k, ps in self.users.items() if len(ps) > 1}
        self.stats.update(people=n_people, anonymous_only=n_people - len(logged), messages=len(self.messages))

    def _person(self, i: int) -> dict:
        r = self.rng
        first, last = r.choice(FIRST), r.choice(LAST)
        emails = [f"{first}.{last}{i}@{r.choice(DOMAINS)}", f"{first[0]}{last}.{i}@work{i % 97}.example.com"]
        uid = f"usr_{i:06d}" if r.random() < 0.85 else None
        devices = [str(uuid.UUID(int=r.getrandbits(128), version=4)) for _ in range(r.randint(1, 4))]
        emails = emails[: r.randint(0, 2)]
        phone = (r.choice(AREAS), str(r.randint(200, 999)), f"{r.randint(0, 9999):04d}")
        phone = phone if r.random() < 0.5 else None
        return {"uid": uid, "devices": devices, "emails": emails, "phone": phone}

    def _note(self, person: int, key: str, raw: str, t: int, keys: list[str]) -> str:
        self.variants[key][raw] += 1
        self.users[key].add(person)
        if key not in self.first_use or t < self.first_use[key][0]:
            self.first_use[key] = (t, person)
        keys.append(key)
        return raw

    def _contact(self, kind: str, i: int, p: dict, t: int, keys: list[str]) -> str | None:
        """An email or phone as a person types it: messy spelling, now and then a fake."""
        r, own = self.rng, p["emails"] if kind == "email" else [p["phone"]] if p["phone"] else []
        if not own:
            return None
        if r.random() < 0.04:
            self.stats[f"junk_{kind}s"] += 1
            return r.choice(JUNK_EMAILS if kind == "email" else JUNK_PHONES)
        if kind == "email":
            e = r.choice(own)
            local, domain = e.split("@")
            raw = r.choice([e, e, e, f"  {e.capitalize()}", e.upper(), f"{local.title()}@{domain.upper()} "])
            return self._note(i, f"email:{e}", raw, t, keys)
        a, e, n = own[0]
        raw = r.choice([f"({a}) {e}-{n}", f"+1 {a}-{e}-{n}", f"{a}{e}{n}", f"{a}.{e}.{n}", f"1-{a}-{e}-{n}"])
        return self._note(i, f"phone:+1{a}{e}{n}", raw, t, keys)

    def _sessions(self, i: int, p: dict) -> None:
        r = self.rng
        for dev in p["devices"]:
            starts = sorted(T0_MS + r.randrange(90 * DAY) for _ in range(r.randint(1, 4)))
            # People with an account log in on each of their devices sooner or later.
            login_at = next((k for k in range(len(starts)) if r.random() < 0.6), len(starts) - 1)
            for k, start in enumerate(starts):
                delay = r.randint(HOUR, 3 * DAY) if r.random() < 0.08 else 0  # offline queue flushed late
                self.stats["late_sessions"] += bool(delay)
                mode = "returning" if k > login_at else "login" if k == login_at else "anonymous"
                self._session(i, p, dev, start, delay, mode if p["uid"] else "anonymous")

    def _session(self, i: int, p: dict, dev: str, t: int, delay: int, mode: str) -> None:
        r = self.rng

        def emit(kind, uid=False, anon=True, email_in=None, phone_in=None, previous=False, **extra):
            nonlocal t
            t += r.randint(5, 600) * 1000
            keys: list[str] = []
            m = {"type": kind, "messageId": f"bench-{len(self.timed):08d}", "timestamp": iso(t), **extra}
            junk_anon = uid and anon and r.random() < 0.03
            if uid:
                m["userId"] = self._note(i, f"user_id:{p['uid']}", p["uid"], t, keys)
            elif r.random() < 0.03:
                m["userId"] = r.choice(JUNK_USER_IDS)
                self.stats["junk_user_ids"] += 1
            if junk_anon:
                m["anonymousId"] = r.choice(JUNK_ANON_IDS)
                self.stats["junk_anonymous_ids"] += 1
            elif anon:
                m["anonymousId"] = self._note(i, f"anonymous_id:{dev}", dev, t, keys)
            if previous:
                m["previousId"] = self._note(i, f"anonymous_id:{dev}", dev, t, keys)
            for name, where in (("email", email_in), ("phone", phone_in)):
                value = self._contact(name, i, p, t, keys) if where else None
                if value is not None:
                    parent = m.setdefault("context", {}) if where == "context" else m
                    parent.setdefault("properties" if where == "properties" else "traits", {})[name] = value
            self.timed.append((t + delay, len(self.timed), t, m, keys))

        def ctx():
            return "context" if r.random() < 0.3 else None  # analytics.js replays cached traits

        if mode == "returning":  # the SDK remembers the user: every call carries userId
            if r.random() < 0.3:
                emit("identify", uid=True, email_in="traits", phone_in="traits" if r.random() < 0.5 else None)
            for _ in range(r.randint(1, 4)):
                emit("track", uid=True, event="Product Viewed", email_in=ctx())
            return
        for _ in range(r.randint(1, 3)):
            emit("page", name="Home")
        if (p["emails"] or p["phone"]) and r.random() < (0.1 if p["uid"] else 0.35):
            self.stats["forms"] += 1  # a lead / newsletter form, filled in before any login
            if p["uid"] is None and r.random() < 0.5:
                emit("identify", email_in="traits", phone_in="traits")
            else:
                emit("track", event="Form Submitted", email_in="properties", phone_in="properties")
        if mode != "login":
            return
        if r.random() < 0.3:  # server-side signup: alias the device, then server calls by userId only
            self.stats["aliases"] += 1
            emit("alias", uid=True, anon=False, previous=True)
            emit("track", uid=True, anon=False, event="Signed Up", email_in="properties")
        else:
            emit("identify", uid=True, email_in="traits", phone_in="traits" if r.random() < 0.5 else None)
        for _ in range(r.randint(0, 3)):
            emit("track", uid=True, event="Product Viewed", email_in=ctx())


def c2(n: int) -> int:
    return n * (n - 1) // 2


def score(pred: dict, truth: dict) -> dict:
    """Pairwise scores from cluster-size counts; an identifier the resolver never placed stands alone."""
    cells: Counter = Counter((pred.get(key, ("alone", key)), person) for key, person in truth.items())
    by_cluster, by_person = Counter(), Counter()
    for (c, person), n in cells.items():
        by_cluster[c] += n
        by_person[person] += n
    tp, pp, tt = (sum(map(c2, x.values())) for x in (cells, by_cluster, by_person))
    precision, recall = (tp / pp if pp else 1.0), (tp / tt if tt else 1.0)
    return {"precision": round(precision, 5), "recall": round(recall, 5),
            "f1": round(2 * precision * recall / (precision + recall) if tp else 0.0, 5),
            "profiles": len(by_cluster), "people": len(by_person), "identifiers": len(truth),
            "true_pairs": tt, "predicted_pairs": pp, "correct_pairs": tp,
            "people_split": sum(1 for n in Counter(p for _, p in cells).values() if n > 1),
            "profiles_mixing_people": sum(1 for n in Counter(c for c, _ in cells).values() if n > 1)}


def union_find():
    parent: dict = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]  # path halving
            x = parent[x]
        return x
    return find, parent


def baseline(pop: Population) -> dict[str, str]:
    """Join every raw value that co-occurs in a message: exact strings, nothing blocked, no limits."""
    find, parent = union_find()
    for m in pop.messages:
        values = []
        for path in FIELDS:
            v = m
            for part in path:
                v = v.get(part) if isinstance(v, dict) else None
            if v is not None:
                values.append(str(v))
        for v in values:
            parent[find(v)] = find(values[0])
    # A ground-truth identifier sits where its most frequently sent spelling sits.
    return {key: find(spellings.most_common(1)[0][0]) for key, spellings in pop.variants.items()}


def oracle(pop: Population) -> dict[str, str]:
    """Join only same-person identifiers that co-occur in a message: the best any resolver can do."""
    find, parent = union_find()
    for keys in pop.keys:
        anchor: dict[int, str] = {}
        for k in keys:
            parent[find(k)] = find(anchor.setdefault(pop.truth[k], k))
    return {k: find(k) for k in pop.truth}


def blame(pred: dict[str, str], pop: Population) -> dict[str, int]:
    """The service's wrong pairs, by what glued the profile: a stored junk value, a shared device, other."""
    members: dict[str, list[str]] = defaultdict(list)
    for key, profile in pred.items():
        members[profile].append(key)
    out: Counter = Counter()
    for keys in members.values():
        scored = [k for k in keys if k in pop.truth]
        wrong = c2(len(scored)) - sum(map(c2, Counter(pop.truth[k] for k in scored).values()))
        out["junk_value" if len(scored) < len(keys)
            else "shared_device" if pop.shared & set(keys) else "other"] += wrong
    return dict(out)


def run_service(pop: Population, args) -> tuple[dict[str, str], dict]:
    if not args.no_start:
        env = {**os.environ, "NEO4J_INSTANCE": "bench", "NEO4J_BOLT_PORT": "7689", "NEO4J_HTTP_PORT": "7476"}
        subprocess.run([str(ROOT / "scripts/neo4j.sh"), "start"], check=True, env=env, cwd=ROOT)
    settings = Settings(neo4j_uri=args.neo4j_uri, neo4j_password="cdp-local-password")
    db, driver, info = settings.neo4j_database, connect(settings), Counter()
    try:
        with driver.session(database=db, notifications_min_severity="OFF") as session:
            session.run(WIPE_GRAPH).consume()
        apply_schema(driver, db)
        rules = IdentityRules(settings)
        service, store = IngestService(settings, Keyring(settings), rules), IdentityStore(driver, db, rules)
        total, next_pct, t0 = len(pop.messages), 10, time.perf_counter()
        for start in range(0, total, 100):
            chunk = pop.messages[start:start + 100]
            # Every generated message has a usable userId or anonymousId: a rejection here is a finding.
            result = store.ingest(service.batch({"batch": chunk}, source="web"))
            info.update(stored=result.stored, duplicates=result.duplicates, merges=result.merges,
                        new_profiles=result.new_profiles, refusals=result.refusals)
            # Components resolved again in event-time order after a late message met a rule.
            info.update(f"event_order_{change.outcome}" for change in result.reresolved)
            done = start + len(chunk)
            while next_pct <= 100 and done * 100 >= next_pct * total:
                elapsed = time.perf_counter() - t0
                print(f"  service {next_pct:3d}%  {done:>7}/{total} messages  {elapsed:6.1f}s", flush=True)
                next_pct += 10
        info["seconds"] = round(time.perf_counter() - t0, 2)
        records, _, _ = driver.execute_query(query("ops/partition"), database_=db)
        invariants, _, _ = driver.execute_query(query("ops/invariants"), database_=db)
    finally:
        driver.close()
    pred = {k: r["profile"] for r in records for k in r["keys"]}
    return pred, dict(info, live_profiles=len(records), invariants=dict(invariants[0]),
                      unscored_keys=sorted(k for k in pred if k not in pop.truth))  # stored, yet nobody's


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--people", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--neo4j-uri", default="bolt://127.0.0.1:7689")
    ap.add_argument("--no-start", action="store_true", help="do not start the bench Neo4j instance")
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/identity_quality.json")
    args = ap.parse_args()
    if not args.neo4j_uri.endswith(":7689"):  # the run wipes the database: never point it at dev/test
        sys.exit(f"refusing to wipe {args.neo4j_uri}: this benchmark runs on the bench instance (:7689) only")

    pop = Population(args.people, args.seed)
    print(f"generated {pop.stats['people']} people, {len(pop.messages)} messages, {len(pop.truth)} "
          f"identifiers ({len(pop.shared)} shared between people)", flush=True)
    pred, info = run_service(pop, args)
    t0 = time.perf_counter()
    parts = {"service": pred, "baseline": baseline(pop)}
    seconds = {"service": info["seconds"], "baseline": round(time.perf_counter() - t0, 2), "oracle": None}
    parts["oracle"] = oracle(pop)
    excluded = {k: v for k, v in pop.truth.items() if k not in pop.shared}
    scores = {n: {**score(p, pop.truth), "seconds": seconds[n]} for n, p in parts.items()}
    scores_excl = {n: score(p, excluded) for n, p in parts.items()}
    scores_reach = {n: score(p, parts["oracle"]) for n, p in parts.items() if n != "oracle"}

    heads = ("precision", "recall", "F1", "profiles", "people", "messages", "seconds")
    print("\n" + " " * 10 + "".join(f"{h:>10}" for h in heads))
    for name, s in scores.items():
        secs = "" if s["seconds"] is None else f"{s['seconds']:.1f}"
        print(f"{name:10}{s['precision']:10.4f}{s['recall']:10.4f}{s['f1']:10.4f}{s['profiles']:10}"
              f"{s['people']:10}{len(pop.messages):10}{secs:>10}")
    print("oracle = same-person identifiers joined wherever a message links them: the reachable ceiling")
    verdict = {}
    for label, s in (("ground truth", scores["service"]), ("reachable truth", scores_reach["service"])):
        verdict[label] = s["f1"] >= GOAL_F1 and s["precision"] >= GOAL_PRECISION
        print(f"goal F1 >= {GOAL_F1} and precision >= {GOAL_PRECISION}, vs {label:15}: service P "
              f"{s['precision']:.4f} R {s['recall']:.4f} F1 {s['f1']:.4f} -> "
              f"{'PASS' if verdict[label] else 'MISS'}")
    s, ex = scores["service"], scores_excl["service"]
    info["wrong_pairs_by_cause"] = blame(pred, pop)
    print(f"service: {s['people_split']} people split (oracle {scores['oracle']['people_split']}), "
          f"{s['profiles_mixing_people']} profiles mixing people; wrong pairs by cause "
          f"{info['wrong_pairs_by_cause']}")
    print(f"service: stored keys that are nobody's identifier {info['unscored_keys'][:5]}; "
          f"invariant violations {sum(info['invariants'].values())}")
    print(f"excluding the {len(pop.shared)} shared identifiers: service P {ex['precision']:.4f} "
          f"R {ex['recall']:.4f} F1 {ex['f1']:.4f}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "benchmark": "identity_quality", "seed": args.seed,
        "goal": {"f1": GOAL_F1, "precision": GOAL_PRECISION}, "service_pass": verdict["ground truth"],
        "service_pass_vs_reachable": verdict["reachable truth"], "generator": pop.stats, "scoring": SCORING,
        "scores": scores, "vs_reachable_truth": scores_reach, "excluding_shared": scores_excl,
        "service_ingest": info}, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
