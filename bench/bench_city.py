"""City scale: 1,000,000 incidents, 50,000 candidate sites, 200,000 buildings.

Scores every site (coverage at the observe level and the visible area behind
buildings, the sparse coverage matrix, weights, privacy, score) and runs a greedy
selection of 100 sites, on both cores. Reports wall time per stage and the peak
memory (max RSS of this process and its workers).

Run: .venv/bin/python bench/bench_city.py [scale]   (scale 1.0 = the full size)
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _scenes import city_blocks, clustered_incidents, street_points  # noqa: E402


def rss_gb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024**2


def main() -> None:
    from geo.scoring import score_sites, site_coverage
    from geo.selection import select_sites
    from geo.visibility import Obstacles

    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    n_b, n_s, n_i = int(200_000 * scale), int(50_000 * scale), int(1_000_000 * scale)
    t0 = time.perf_counter()
    bld = city_blocks(n_b, seed=7, block_m=40.0, street_m=14.0)
    sites = street_points(bld, n_s, seed=8)
    inc = clustered_incidents(n_i, tuple(bld.total_bounds), seed=9, hotspots=2000)
    print(f"scene: {n_b:,} buildings, {n_s:,} sites, {n_i:,} incidents "
          f"({time.perf_counter() - t0:.1f} s to generate, not counted)")
    stages = {}
    t = time.perf_counter()
    obstacles = Obstacles(bld.geometry.to_numpy())
    stages["prepare buildings"] = time.perf_counter() - t
    t = time.perf_counter()
    sc = site_coverage(inc, sites, buildings=obstacles, level="observe", workers=2)
    stages["coverage + matrix"] = time.perf_counter() - t
    t = time.perf_counter()
    scores = score_sites(sites=sites, covered=sc)
    stages["score"] = time.perf_counter() - t
    t = time.perf_counter()
    sel = select_sites(sc.matrix, sc.weights, ids=sc.ids, k=100, bound=True)
    stages["greedy k=100 + LP bound"] = time.perf_counter() - t
    total = sum(stages.values())
    for k, v in stages.items():
        print(f"  {k:<24} {v:8.1f} s")
    print(f"  {'total':<24} {total:8.1f} s; peak memory {rss_gb():.2f} GB")
    print(f"  covered incidents (any site): {int((sc.matrix.sum(axis=0) > 0).sum()):,}; "
          f"best score site {scores.sort_values('rank').iloc[0]['id']}; "
          f"greedy 100 sites cover {sel.new_weight:,.0f}, gap to LP bound {sel.gap:.2%}")


if __name__ == "__main__":
    main()
