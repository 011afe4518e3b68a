"""The suspicious-profile report: live profiles holding more identifiers than one person plausibly
has (a merge that went too far), or touching a join the rules refused again and again (a shared
device). Thresholds are inclusive minimums."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from neo4j import Driver

from app.db import query
from app.ingest.timestamps import iso_ms


@dataclass(frozen=True)
class Thresholds:
    # Defaults flag more than 10 anonymous ids, more than 3 emails or phones, and any join refused
    # 3 times or more.
    min_anonymous: int = 11
    min_emails: int = 4
    min_phones: int = 4
    min_refusals: int = 3

    def reasons(self, row: dict) -> list[str]:
        checks = (("anonymous_id", row["anonymousIds"], self.min_anonymous),
                  ("email", row["emails"], self.min_emails),
                  ("phone", row["phones"], self.min_phones),
                  ("refused_join", row["maxRefusedCount"], self.min_refusals))
        return [f"{name}: {n} >= {limit}" for name, n, limit in checks if n >= limit]


def suspicious_profiles(driver: Driver, database: str, thresholds: Thresholds = Thresholds(),
                        limit: int = 100) -> dict:
    """{thresholds, profiles}: most rules broken first, then the most identifiers."""
    records, _, _ = driver.execute_query(
        query("profiles/suspicious_profiles"), minAnonymous=thresholds.min_anonymous,
        minEmails=thresholds.min_emails, minPhones=thresholds.min_phones, minRefusals=thresholds.min_refusals,
        limit=limit, database_=database, routing_="r")
    profiles = []
    for r in records:
        row = r.data()
        profiles.append({"profileId": row["profileId"],
                         "identifiers": {"user_id": row["userIds"], "anonymous_id": row["anonymousIds"],
                                         "email": row["emails"], "phone": row["phones"]},
                         "maxRefusedCount": row["maxRefusedCount"], "refusedJoins": row["refusedJoins"],
                         "firstSeen": iso_ms(row["firstSeen"]), "lastSeen": iso_ms(row["lastSeen"]),
                         "reasons": thresholds.reasons(row)})
    return {"thresholds": asdict(thresholds), "profiles": profiles}
