"""Browser asset sizes: the /cdp.js snippet (as served, minified, minified and gzipped) and the
console bundle (as built, gzipped as the API serves it). Writes bench/results/assets.json.

    python -m bench.assets        (needs the console built: scripts/console.sh build)
"""
from __future__ import annotations

import gzip
import subprocess

from bench.common import ROOT, write_results

ESBUILD = ROOT / "console" / "node_modules" / ".bin" / "esbuild"


def minified(path) -> bytes:
    return subprocess.run([str(ESBUILD), str(path), "--minify", "--target=es2017"], check=True,
                          capture_output=True).stdout


def main() -> None:
    snippet = (ROOT / "app" / "static" / "cdp.js").read_bytes()
    small = minified(ROOT / "app" / "static" / "cdp.js")
    bundle = (ROOT / "console" / "dist" / "console.js").read_bytes()
    figures = {
        "snippet_bytes": len(snippet),
        "snippet_minified_bytes": len(small),
        "snippet_minified_gzip_bytes": len(gzip.compress(small, 9)),
        "console_bundle_bytes": len(bundle),
        "console_bundle_gzip_bytes": len(gzip.compress(bundle)),
    }
    for name, value in figures.items():
        print(f"  {name:30} {value:>9,}")
    write_results("assets", figures)


if __name__ == "__main__":
    main()
