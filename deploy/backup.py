#!/usr/bin/env python3
"""Back up and restore the database and STORAGE_DIR together (`make backup` / `make restore`).

    python deploy/backup.py backup  [--out DIR]                 → DIR/gd-YYYYMMDD-HHMMSS/
    python deploy/backup.py restore --from DIR/gd-YYYYMMDD-HHMMSS

DATABASE_URL and STORAGE_DIR come from the environment (/etc/gd/gd.env) unless --database-url / --storage
are given. A backup is a directory: ``database.dump`` (``pg_dump -Fc``), ``storage.tar`` and ``manifest.json``
(sizes, seconds, the migration revision).

Order, and why it is consistent without stopping the site: the dump is taken first, the storage after it.
The app writes a file (photo, signature, upload, export) *before* it commits the row that names it, and never
deletes or rewrites a stored file (new versions get new names). So every file a row in the dump refers to
already existed when the dump started and is in the later tar. Files written after the dump are in the tar
but referenced by nothing — harmless. The other order (storage, then dump) could restore rows whose files
are missing, which is not harmless.

Restore goes into an empty database (``createdb`` it first) and an empty or new storage directory; it
refuses anything else, so a restore never mixes two states. Stop gunicorn and the workers first.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path


def _pg_url(url: str) -> str:
    """libpq wants postgresql://…; SQLAlchemy's postgresql+psycopg://… names a driver."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme.startswith("postgres"):
        sys.exit(f"DATABASE_URL must be a PostgreSQL URL, not {scheme or url!r}")
    return "postgresql://" + rest


def _run(cmd: list[str]) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{cmd[0]} failed:\n{done.stderr.strip()}")
    return done.stdout


def backup(database_url: str, storage: Path, out: Path) -> Path:
    url = _pg_url(database_url)
    target = out / dt.datetime.now().strftime("gd-%Y%m%d-%H%M%S")
    target.mkdir(parents=True, exist_ok=False)
    started = time.monotonic()
    _run(["pg_dump", "-Fc", "--no-owner", "--no-privileges", "-f", str(target / "database.dump"), url])
    dumped = time.monotonic()
    files = 0
    with tarfile.open(target / "storage.tar", "w") as tar:  # photos and images do not compress
        if storage.is_dir():
            for path in sorted(storage.rglob("*")):
                if path.is_file():
                    tar.add(path, arcname=str(path.relative_to(storage)), recursive=False)
                    files += 1
    done = time.monotonic()
    revision = _run(["psql", "-Atqc", "SELECT version_num FROM alembic_version", url]).strip() \
        if _has_table(url, "alembic_version") else ""
    manifest = {
        "created": dt.datetime.now().isoformat(timespec="seconds"),
        "migration": revision,
        "database_bytes": (target / "database.dump").stat().st_size,
        "storage_bytes": (target / "storage.tar").stat().st_size,
        "storage_files": files,
        "dump_seconds": round(dumped - started, 2),
        "storage_seconds": round(done - dumped, 2),
        "order": "database dump first, then storage (see deploy/backup.py)",
    }
    (target / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
    print(f"备份完成：{target}")
    print(json.dumps(manifest, ensure_ascii=False))
    return target


def _has_table(url: str, name: str) -> bool:
    return _run(["psql", "-Atqc", f"SELECT to_regclass('public.{name}') IS NOT NULL", url]).strip() == "t"


def restore(source: Path, database_url: str, storage: Path) -> None:
    url = _pg_url(database_url)
    dump, tar_path = source / "database.dump", source / "storage.tar"
    if not dump.is_file() or not tar_path.is_file():
        sys.exit(f"{source} is not a backup (database.dump and storage.tar expected)")
    tables = int(_run(["psql", "-Atqc", "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", url]))
    if tables:
        sys.exit("目标数据库不是空的：请恢复到新建的空数据库（createdb）")
    if storage.exists() and any(storage.iterdir()):
        sys.exit(f"存储目录 {storage} 不是空的：请恢复到新的或空的目录")
    started = time.monotonic()
    _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "-d", url,
          str(dump)])
    restored = time.monotonic()
    storage.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tar_path) as tar:
        tar.extractall(storage, filter="data")  # refuses absolute paths, .. and links out of the directory
    done = time.monotonic()
    print(f"恢复完成：数据库 {restored - started:.1f} 秒，存储 {done - restored:.1f} 秒")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Back up / restore the database and STORAGE_DIR together")
    parser.add_argument("command", choices=("backup", "restore"))
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--storage", default=os.environ.get("STORAGE_DIR", ""))
    parser.add_argument("--out", default=os.environ.get("BACKUP_DIR", "backups"), help="backup: where to write")
    parser.add_argument("--from", dest="source", help="restore: the backup directory")
    args = parser.parse_args(argv)
    if not args.database_url or not args.storage:
        parser.error("DATABASE_URL and STORAGE_DIR (or --database-url and --storage) are required")
    if args.command == "backup":
        backup(args.database_url, Path(args.storage), Path(args.out))
    else:
        if not args.source:
            parser.error("restore needs --from <backup directory>")
        restore(Path(args.source), args.database_url, Path(args.storage))


if __name__ == "__main__":
    main()
