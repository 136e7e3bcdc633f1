#!/usr/bin/env python3
"""Sign-ins per second for scripts/bench: password only, and password + TOTP code, each a
whole sign-in as a browser makes it (wrk cannot carry the flow cookie from one request to the
next). Standard library only.

  bench_signin.py BASE PID DB SECONDS USER_PREFIX USERS PASSWORD

The users USER_PREFIX1..USERS exist with PASSWORD (scripts/bench creates them). Each is
enrolled in TOTP here, over HTTP, as a user would. A TOTP code is accepted once per user and
time step (RFC 6238 §5.2), so each user signs in with the codes of the previous, current and
next step in turn (one step of skew), and the TOTP row ends early when every user has used
its codes: the rate is sign-ins completed over the time taken.
"""

import base64
import hashlib
import hmac
import http.client
import re
import struct
import sys
import threading
import time
import urllib.parse

BASE, PID, DB, SECONDS, PREFIX, USERS, PASSWORD = sys.argv[1:8]
SECONDS, USERS = float(SECONDS), int(USERS)
HOST = urllib.parse.urlsplit(BASE)
CONNECTIONS = 32


def totp(secret_b32, step):
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return "%06d" % (value % 1_000_000)


class Browser:
    """One keep-alive connection and a cookie jar; redirects are not followed."""

    def __init__(self):
        self.conn = http.client.HTTPConnection(HOST.hostname, HOST.port, timeout=30)
        self.cookies = {}

    def request(self, method, path, form=None):
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=headers)
        res = self.conn.getresponse()
        text = res.read().decode()
        for name, value in res.getheaders():
            if name.lower() == "set-cookie":
                k, v = value.split(";", 1)[0].split("=", 1)
                if "Max-Age=0" in value:
                    self.cookies.pop(k, None)
                else:
                    self.cookies[k] = v
        return res.status, res.getheader("Location", ""), text

    def field(self, page, name):
        m = re.search(r'name="%s" value="([^"]*)"' % name, page)
        return m.group(1) if m else None

    def sign_out_cookies(self):
        """A new visitor, keeping only the CSRF cookie (its token is not bound to a session)."""
        self.cookies = {k: v for k, v in self.cookies.items() if k.endswith("csrf")}


def password_step(b, csrf, user):
    status, to, _ = b.request("POST", "/login", {"csrf": csrf, "login": user, "password": PASSWORD})
    return status, to


def enrol(user):
    b = Browser()
    _, _, page = b.request("GET", "/login")
    csrf = b.field(page, "csrf")
    status, to = password_step(b, csrf, user)
    assert status == 303 and to == "/account", (user, status, to)
    _, _, page = b.request("GET", "/settings/security")
    b.request("POST", "/settings/security/totp", {"csrf": b.field(page, "csrf")})
    _, _, page = b.request("GET", "/settings/security")
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    step = int(time.time()) // 30
    status, _, _ = b.request(
        "POST", "/settings/security/totp/confirm",
        {"csrf": b.field(page, "csrf"), "code": totp(secret, step)},
    )
    assert status == 200, (user, status)
    return secret, step


def run(name, sign_in):
    latencies, failures, lock = [], [0], threading.Lock()
    deadline = time.time() + SECONDS
    done = threading.Event()

    def worker():
        b = Browser()
        _, _, page = b.request("GET", "/login")
        csrf = b.field(page, "csrf")
        while time.time() < deadline and not done.is_set():
            b.sign_out_cookies()
            t0 = time.perf_counter()
            ok = sign_in(b, csrf)
            if ok is None:
                done.set()
                return
            dt = time.perf_counter() - t0
            with lock:
                if ok:
                    latencies.append(dt)
                else:
                    failures[0] += 1

    started = time.time()
    threads = [threading.Thread(target=worker) for _ in range(CONNECTIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - started
    latencies.sort()
    pct = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0
    rss = next(int(l.split()[1]) for l in open(f"/proc/{PID}/status") if l.startswith("VmRSS")) // 1024
    print("| %s | %s | %d | %.2f | %.2f | %d | %d MB |" % (
        DB, name, len(latencies) / elapsed, pct(0.5), pct(0.99), failures[0], rss))


def main():
    names = [f"{PREFIX}{i}" for i in range(1, USERS + 1)]
    secrets = {}
    enrolling = []

    def enrol_some(part):
        for n in part:
            secrets[n] = enrol(n)

    for i in range(4):
        t = threading.Thread(target=enrol_some, args=(names[i::4],))
        t.start()
        enrolling.append(t)
    for t in enrolling:
        t.join()

    def password_only(b, csrf):
        status, to = password_step(b, csrf, "admin")
        return status == 303 and to == "/account"

    queue, qlock = list(names), threading.Lock()
    # The confirmation used its step: each user's codes start one step later.
    next_step = {n: secrets[n][1] + 1 for n in names}

    def take():
        """A user with a code left within the skew, and that code's step."""
        now = int(time.time()) // 30
        with qlock:
            while queue:
                n = queue.pop(0)
                step = max(next_step[n], now - 1)
                if step <= now + 1:
                    next_step[n] = step + 1
                    queue.append(n)
                    return n, step
            return None

    def with_totp(b, csrf):
        picked = take()
        if picked is None:
            return None
        user, step = picked
        status, to = password_step(b, csrf, user)
        if status != 303 or to != "/login/factor":
            return False
        _, _, page = b.request("GET", "/login/factor")
        status, to, _ = b.request("POST", "/login/factor/totp", {
            "csrf": b.field(page, "csrf"), "flow": b.field(page, "flow"),
            "code": totp(secrets[user][0], step),
        })
        return status == 303 and to == "/account"

    run("password sign-in, whole (driver)", password_only)
    run("password + TOTP sign-in, whole (driver)", with_totp)


main()
