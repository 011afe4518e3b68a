"""The workload of concurrent writers sending overlapping identifiers for the same few people:
each writer's messages join two of one person's identifiers (of two different kinds), shuffled
and cut into batches of 1 to 8. Shared by the 16-process test and `bench/contention.py`."""
from __future__ import annotations

import random


def person_keys(p: int) -> dict[str, list[str]]:
    return {"user": [f"cp{p}-user"], "anon": [f"cp{p}-dev{i}" for i in range(3)],
            "email": [f"cp{p}-{i}@mail.io" for i in range(2)], "phone": [f"+1415555{300 + 2 * p + i:04d}" for i in range(2)]}


def expected_partition(people: int) -> set[frozenset[str]]:
    out = set()
    for p in range(people):
        k = person_keys(p)
        out.add(frozenset([f"user_id:{k['user'][0]}"] + [f"anonymous_id:{a}" for a in k["anon"]]
                          + [f"email:{e}" for e in k["email"]] + [f"phone:{x}" for x in k["phone"]]))
    return out


def people_as_seen(people: int, seen: set[str]) -> set[frozenset[str]]:
    """One profile per person, holding exactly the identifiers of that person in `seen` (the
    identifiers the graph has: a random workload need not send every one of them)."""
    return {frozenset(k for k in person if k in seen) for person in expected_partition(people)} - {frozenset()}


def _message(rng: random.Random, writer: int, n: int, p: int, pair: tuple[str, str], prefix: str) -> dict:
    """A message joining two of person p's identifiers, of two different kinds."""
    k = person_keys(p)
    m: dict = {"type": "identify", "messageId": f"{prefix}proc{writer}-{n}",
               "timestamp": f"2026-02-01T00:{rng.randrange(60):02d}:{rng.randrange(60):02d}Z"}
    bag: dict = {}
    for kind in pair:
        if kind == "user":
            m["userId"] = k["user"][0]
        elif kind == "anon":
            m["anonymousId"] = rng.choice(k["anon"])
        else:
            bag[kind] = rng.choice(k[kind])
    if "userId" not in m and "anonymousId" not in m:
        m["anonymousId"] = rng.choice(k["anon"])
    if bag:
        m["traits"] = bag
    return m


def batches(writer: int, people: int, messages: int, seed: int = 1000, prefix: str = "") -> list[list[dict]]:
    """Writer `writer`'s batches: `messages` messages about `people` people, reproducible by seed."""
    rng = random.Random(seed + writer)
    kinds = ["user", "anon", "email", "phone"]
    msgs = []
    for n in range(messages):
        p = rng.randrange(people)
        msgs.append(_message(rng, writer, n, p, tuple(rng.sample(kinds, 2)), prefix))
    rng.shuffle(msgs)
    out, i = [], 0
    while i < len(msgs):
        size = rng.randint(1, 8)
        out.append(msgs[i:i + size])
        i += size
    return out
