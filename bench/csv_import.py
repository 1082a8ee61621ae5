"""Benchmark: import a 100,000-row contacts CSV (parse, validate, normalise, store). Goal: under 10 s.

    python bench/csv_import.py [--rows 100000] [--database-url postgresql+psycopg2://postgres@127.0.0.1/db]

Without --database-url it uses a fresh SQLite file. It writes the CSV first (not timed), then times
the reading and validation and the storing separately, as `callbridge campaign run --import-only` does.
"""

from __future__ import annotations

import argparse
import csv
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from app.dialer.campaigns import CampaignOptions, import_campaign
from app.store import upgrade
from app.store.campaigns import CampaignStore

FORMATS = ("{a}{b}{c}", "({a}) {b}-{c}", "+1 {a} {b} {c}", "1-{a}-{b}-{c}", "{a}.{b}.{c}")
AREA_CODES = ("212", "415", "312", "617", "206", "305", "512", "303", "404", "646")


def write_csv(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["phone", "first_name", "appointment", "note"])
        for i in range(rows):
            if i % 50 == 49:
                phone = "555-01" + str(i % 100).zfill(2)  # about 2 % invalid
            else:
                area = AREA_CODES[i % len(AREA_CODES)]
                exchange = str(200 + (i // 10000) % 800)
                line = str(i % 10000).zfill(4)
                phone = FORMATS[i % len(FORMATS)].format(a=area, b=exchange, c=line)
            writer.writerow(
                [phone, f"Name{i}", f"2026-0{1 + i % 9}-1{i % 10}", rng.choice(["a, b", "c", ""])]
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "contacts.csv"
        write_csv(csv_path, args.rows)
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        store = CampaignStore.open(url)
        options = CampaignOptions(name="bench", campaign_id=f"bench-{int(time.time())}")
        started = time.perf_counter()
        with csv_path.open(encoding="utf-8", newline="") as handle:
            campaign_id, result = import_campaign(store, handle, options, now=datetime.now(UTC))
        elapsed = time.perf_counter() - started
        counts = store.counts(campaign_id)
        store.close()
    print(f"{args.rows} rows: {len(result.contacts)} contacts, {len(result.rejected)} rejected")
    print(f"stored: {sum(v for k, v in counts.items() if not k.startswith('rejected'))} contacts")
    print(
        f"import took {elapsed:.2f} s ({args.rows / elapsed:,.0f} rows/s) -> {'OK' if elapsed < 10 else 'TOO SLOW'}"
    )


if __name__ == "__main__":
    main()
