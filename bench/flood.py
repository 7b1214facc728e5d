#!/usr/bin/env python3
"""Abuse floods against a running binary: how long a real user's login takes while an attacker
floods, and how the flood's own requests are answered.

Usage: bench/flood.py BINARY [--database-url URL] [--redis-url URL]
Starts BINARY on a free port (SQLite and the in-process store unless URLs are given; a database
URL must name an empty scratch database, which the run migrates and fills), registers
a victim and an attacker through the API (review numbers with fixed codes), then runs:
  1. 2,500 concurrent change-password requests with a wrong old password, from one account,
     spread over many client addresses (the worst case: the per-client limit does not help);
  2. 2,500 concurrent logins to random numbers from addresses of one IPv6 /64;
and during each, logs the victim in five times. Prints one table. Standard library only.
"""

import argparse
import asyncio
import collections
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time

VICTIM, ATTACKER, CODE = "+998900000001", "+998900000002", "081020"
PASSWORD = "Tashkent-2024!"


async def request(port, method, path, body=None, headers=None, timeout=60.0):
    """One HTTP/1.1 request on its own connection; returns (status, json body, seconds)."""
    started = time.monotonic()
    payload = json.dumps(body).encode() if body is not None else b""
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close",
            "Content-Type: application/json", f"Content-Length: {len(payload)}"]
    head += [f"{name}: {value}" for name, value in (headers or {}).items()]
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout)
        writer.close()
    except (OSError, asyncio.TimeoutError) as error:
        return (type(error).__name__, None, time.monotonic() - started)
    head_bytes, _, body_bytes = raw.partition(b"\r\n\r\n")
    status = int(head_bytes.split(b" ", 2)[1]) if head_bytes else 0
    try:
        parsed = json.loads(body_bytes) if body_bytes else None
    except ValueError:
        parsed = None
    return (status, parsed, time.monotonic() - started)


async def register(port, phone):
    sent = await request(port, "POST", "/api/v1/users/send-otp/", {"type": "auth", "phone_number": phone})
    session = sent[1]["session"]
    await request(port, "POST", "/api/v1/users/verify-otp/",
                  {"type": "auth", "phone_number": phone, "session": session, "otp_code": CODE})
    done = await request(port, "POST", "/api/v1/users/register/",
                         {"phone_number": phone, "password": PASSWORD, "password2": PASSWORD,
                          "full_name": "Flood Test", "session": session})
    return done[1]["tokens"]["access"]


async def victim_logins(port, delay):
    await asyncio.sleep(delay)
    results = []
    for _ in range(5):
        results.append(await request(port, "POST", "/api/v1/users/login/",
                                     {"phone_number": VICTIM, "password": PASSWORD},
                                     {"X-Forwarded-For": "198.51.100.77"}))
        await asyncio.sleep(0.2)
    return results


async def flood(port, make_request, count=2500):
    flood_tasks = [asyncio.create_task(make_request(i)) for i in range(count)]
    victim = asyncio.create_task(victim_logins(port, 0.5))
    answers = await asyncio.gather(*flood_tasks)
    return answers, await victim


def summary(name, answers, victim):
    statuses = collections.Counter(str(status) for status, _, _ in answers)
    slowest_flood = max(seconds for _, _, seconds in answers)
    victim_statuses = ",".join(str(status) for status, _, _ in victim)
    victim_slowest = max(seconds for _, _, seconds in victim)
    print(f"| {name} | {dict(statuses)} | {slowest_flood:.2f} s | {victim_statuses} | {victim_slowest * 1000:.0f} ms |")


async def main(args):
    port = free_port()
    work = tempfile.mkdtemp(prefix="tantana-flood-")
    env = {
        "PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/"),
        "BIND": f"127.0.0.1:{port}", "SECRET_KEY": "flood-" + "x1y2z3" * 10,
        "DATABASE_URL": args.database_url or f"sqlite://{work}/flood.sqlite3?mode=rwc",
        "SMS_BACKEND": "file", "SMS_OUTBOX": f"{work}/outbox.jsonl",
        "OTP_TEST_NUMBERS": f"{VICTIM}={CODE},{ATTACKER}={CODE}",
        "TRUSTED_PROXIES": "127.0.0.1/32", "RUST_LOG": "warn",
    }
    if args.redis_url:
        env.update({"REDIS_URL": args.redis_url, "REDIS_KEY_PREFIX": f"flood-{port}:"})
    server = subprocess.Popen([args.binary], env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if (await request(port, "GET", "/healthz", timeout=1))[0] == 200:
                break
            await asyncio.sleep(0.2)
        await register(port, VICTIM)
        attacker_access = await register(port, ATTACKER)

        def bad_change(i):
            return request(port, "POST", "/api/v1/users/change-password/",
                           {"old_password": f"wrong-{i}", "password": "Samarkand-1999?", "password2": "Samarkand-1999?"},
                           {"Authorization": f"Bearer {attacker_access}",
                            "X-Forwarded-For": f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"})

        def login_from_one_64(i):
            return request(port, "POST", "/api/v1/users/login/",
                           {"phone_number": f"+99890{random.randint(1_000_000, 9_999_999)}", "password": "Wrong-pass-1"},
                           {"X-Forwarded-For": f"2001:db8:0:1::{i:x}"})

        print(f"cores: {os.cpu_count()}; server: {args.binary}; store: {'redis' if args.redis_url else 'memory'}")
        print("| flood (2,500 concurrent) | flood answers | slowest flood answer | victim logins | victim's slowest |")
        print("|---|---|---:|---|---:|")
        summary("bad change-passwords, one account", *await flood(port, bad_change))
        summary("logins from one IPv6 /64", *await flood(port, login_from_one_64))
    finally:
        server.terminate()
        server.wait()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url")
    asyncio.run(main(parser.parse_args()))
    sys.exit(0)
