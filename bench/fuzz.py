"""API fuzz campaign: schemathesis over the app's OpenAPI document, N generated cases per operation,
in-process (ASGI) against a real Neo4j and Redis. Prints cases run and failures per operation and
writes bench/results/fuzz.json.

    python -m bench.fuzz [--examples 80]     (its own Neo4j on 7705 and Redis on 6395)
"""
from __future__ import annotations

import argparse
import time
from dataclasses import asdict

from fastapi.testclient import TestClient

from app.main import create_app
from bench.common import bench_settings, fresh_graph, start_neo4j, start_redis, write_results
from tests.reliability.fuzzing import run_campaign


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=int, default=80, help="generated cases per operation")
    ap.add_argument("--port", type=int, default=7705)
    ap.add_argument("--http-port", type=int, default=7495)
    ap.add_argument("--instance", default="bench-fuzz")
    ap.add_argument("--redis-port", type=int, default=6395)
    ap.add_argument("--slow", type=float, default=5.0, help="seconds: an answer slower than this is a hang")
    args = ap.parse_args()

    start_neo4j(args.instance, args.port, args.http_port)
    settings = bench_settings(args.port, redis_url=start_redis(args.redis_port),
                              stripe_webhook_secret="whsec_fuzz")
    fresh_graph(settings).close()
    app = create_app(settings)
    started = time.perf_counter()
    with TestClient(app):
        results = run_campaign(app, args.examples, slow_s=args.slow)
    took = time.perf_counter() - started

    print(f"{'operation':48} {'cases':>6} {'5xx':>4} {'slow':>4} {'other':>5} {'max s':>6}  statuses")
    for op, r in results.items():
        statuses = " ".join(f"{k}:{v}" for k, v in sorted(r.statuses.items()))
        print(f"{op:48} {r.cases:6d} {r.server_errors:4d} {r.slow:4d} {r.other_failures:5d} {r.max_seconds:6.2f}  {statuses}")
        for ex in r.examples:
            print(f"    {ex}")
    total = {"operations": len(results), "cases": sum(r.cases for r in results.values()),
             "server_errors": sum(r.server_errors for r in results.values()),
             "slow": sum(r.slow for r in results.values()),
             "other_failures": sum(r.other_failures for r in results.values()),
             "max_seconds": round(max(r.max_seconds for r in results.values()), 3), "seconds": round(took, 1)}
    print(f"\n{total['cases']} cases over {total['operations']} operations in {took:.0f} s: "
          f"{total['server_errors']} server errors, {total['slow']} over {args.slow:.0f} s, "
          f"{total['other_failures']} non-conforming answers")
    write_results("fuzz", {"examples_per_operation": args.examples, "totals": total,
                           "operations": {op: {**asdict(r), "max_seconds": round(r.max_seconds, 3),
                                               "statuses": {str(k): v for k, v in r.statuses.items()}}
                                          for op, r in results.items()}})


if __name__ == "__main__":
    main()
