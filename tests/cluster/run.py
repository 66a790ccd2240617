#!/usr/bin/python3
"""tests/cluster/run.py - the scale-out suite: tools/cluster's topology (etcd,
Patroni primary and synchronous standby, two web nodes with PgBouncer, haproxy
in front), started by this script and stopped at its end, under failures.

    /usr/bin/python3 tests/cluster/run.py [-k SUBSTRING] [--list]

Environment: CV_CLUSTER_BUILD (the build directory whose programs run; default
build/), CV_CLUSTER_PORT (the front door; default a free port),
CV_CLUSTER_STATE (default /tmp/cv-cluster-test.HASH, HASH of this checkout's
path: an operator's var/cluster is left alone), CV_CLUSTER_DB_ROUTE (haproxy or libpq; tools/cluster's header).

Every test waits on conditions with deadlines, never on a sleep.  Load comes
from a few client threads sending to contacts of their own through the front
door; a request's answer (status, the node that answered per haproxy's
X-CV-Node) and its start and end times are kept.  "Acknowledged" is a send
answered 200.  The last line is "N passed, M failed" like every suite of
tools/test.  Python's standard library only.
"""
import argparse
import email
import hashlib
import email.policy
import http.client
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLUSTER = os.path.join(ROOT, "tools", "cluster")
# Under /tmp, not the checkout: the service user must reach it, and a
# checkout may live where it cannot (/root).  One per checkout.
STATE = (os.environ.get("CV_CLUSTER_STATE")
         or "/tmp/cv-cluster-test." + hashlib.sha256(ROOT.encode()).hexdigest()[:8])
API = "/api/v3/oauth/clients/contact-verification"
WEB_NODES = ("web1", "web2")
UNAVAILABLE = {"message": "Service unavailable.", "code": 1503, "status_code": 503}
START_LIMIT = 180   # seconds tools/cluster start gets
MAIL_LIMIT = 60     # seconds for every acknowledged send's mail (the lease is 25 s)


class Failed(AssertionError):
    pass


def check(cond, text):
    if not cond:
        raise Failed(text)


def wait_until(what, seconds, probe, step=0.1):
    """probe()'s first true value, polled every step until the deadline."""
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise Failed(f"{what}: not within {seconds} s")
        time.sleep(step)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---- the cluster ------------------------------------------------------------

class Cluster:
    def __init__(self):
        self.port = int(os.environ.get("CV_CLUSTER_PORT") or free_port())
        self.proc = None
        self.log = tempfile.NamedTemporaryFile(prefix="cv-cluster.", suffix=".log", delete=False)
        self.env = {}
        self.seq = itertools.count(1)

    def start(self):
        env = dict(os.environ, CV_CLUSTER_PORT=str(self.port), CV_CLUSTER_STATE=STATE)
        env.setdefault("CV_CLUSTER_BUILD", os.path.join(ROOT, "build"))
        self.proc = subprocess.Popen([CLUSTER, "start"], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        ready = os.path.join(STATE, "run", "ready")

        def up():
            if self.proc.poll() is not None:
                raise Failed(f"tools/cluster start exited ({self.proc.returncode}):\n" + self.tail())
            return os.path.exists(ready)
        wait_until("tools/cluster start", START_LIMIT, up, 0.2)
        with open(os.path.join(STATE, "cluster.env"), encoding="utf-8") as f:
            for line in f:
                m = re.match(r"^([A-Z_]+)=(.*)$", line.strip())
                if m:
                    self.env[m.group(1)] = m.group(2)
        self.host, self.port = "127.0.0.1", int(self.env["CV_CLUSTER_URL"].rsplit(":", 1)[1])
        # Every client of the suite is 127.0.0.1 behind haproxy: the
        # account's verifies per client address (100 an hour) would stop
        # the checks, not what they check.
        self.sql("UPDATE cv.accounts SET verifies_per_ip = 1000000"
                 f" WHERE uuid = '{self.env['CV_ACCOUNT_UUID']}'")

    def tail(self, n=30):
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-n:])

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            print("cluster: tools/cluster did not stop within 90 s; stopping it with tools/cluster stop",
                  flush=True)
            self.proc.kill()
            subprocess.run([CLUSTER, "stop"], stdin=subprocess.DEVNULL, timeout=120,
                           env=dict(os.environ, CV_CLUSTER_STATE=STATE))

    def tool(self, *args, timeout=120):
        r = subprocess.run([CLUSTER, *args], stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=timeout, env=dict(os.environ, CV_CLUSTER_STATE=STATE))
        check(r.returncode == 0, f"tools/cluster {' '.join(args)}: status {r.returncode}: "
              f"{r.stderr.strip()[-500:]}")
        return r.stdout

    def sql(self, text):
        """Rows (lists of text) of one statement, as postgres on the primary."""
        out = self.tool("psql", "-tA", "-F", "\t", "-c", text)
        return [line.split("\t") for line in out.splitlines() if line]

    def status(self):
        return json.loads(self.tool("status", "--json"))["nodes"]

    def contacts(self, n):
        """n new contacts of the demo account: their addresses."""
        tag = f"t{next(self.seq)}x{os.getpid()}"
        self.sql("INSERT INTO cv.contacts (account_id, email)"
                 f" SELECT a.id, '{tag}-' || g || '@example.com'"
                 f" FROM cv.accounts a, generate_series(1, {n}) g"
                 f" WHERE a.uuid = '{self.env['CV_ACCOUNT_UUID']}'")
        return [f"{tag}-{i}@example.com" for i in range(1, n + 1)]

    def request(self, method, path, body=None, node=None, timeout=30):
        """(status, node that answered, parsed JSON or None); status 0 when
        the front door gave no answer at all."""
        headers = {"Authorization": f"Bearer {self.env['CV_API_KEY']}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if node is not None:
            headers["X-CV-Node"] = node
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
            served = resp.getheader("X-CV-Node")
            status = resp.status
        except (OSError, http.client.HTTPException):
            return 0, None, None
        finally:
            conn.close()
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        return status, served, parsed

    def send(self, address, node=None):
        return self.request("POST", f"{API}/send", {"email": address}, node)

    def verify(self, address, code, node=None):
        return self.request("POST", f"{API}/verify", {"email": address, "code": code}, node)


# ---- mail --------------------------------------------------------------------

def mail_files():
    """{file name: [(node, path), ...]} over every web node's mail directory."""
    found = {}
    for node in WEB_NODES:
        d = os.path.join(STATE, "mail", node)
        try:
            names = os.listdir(d)
        except FileNotFoundError:
            continue
        for name in names:
            if name.endswith(".eml") and not name.startswith("."):
                found.setdefault(name, []).append((node, os.path.join(d, name)))
    return found


_parsed = {}


def mail_of(path):
    """(to address, code) of one .eml file."""
    if path not in _parsed:
        with open(path, "rb") as f:
            msg = email.message_from_binary_file(f, policy=email.policy.default)
        part = msg.get_body(preferencelist=("plain",))
        text = part.get_content() if part is not None else ""
        codes = re.findall(r"(?<!\d)\d{6,10}(?!\d)", re.sub(r"https?://\S+", " ", text))
        _parsed[path] = (str(msg.get("To", "")).strip().lower(), codes[0] if codes else None)
    return _parsed[path]


def mails_by_address(addresses):
    """{address: [(file name, node, code), ...]} for the given addresses."""
    wanted = {a.lower() for a in addresses}
    out = {}
    for name, copies in mail_files().items():
        for node, path in copies:
            to, code = mail_of(path)
            if to in wanted:
                out.setdefault(to, []).append((name, node, code))
    return out


def check_delivery(cluster, acked):
    """Every acknowledged address gets its mail; no message (outbox row, the
    file's name) is delivered twice; the rows end 'sent' or superseded.
    Returns {address: code of its newest mail}."""
    def all_there():
        got = mails_by_address(acked)
        return got if all(a.lower() in got for a in acked) else None
    try:
        got = wait_until(f"the mail of all {len(acked)} acknowledged sends", MAIL_LIMIT, all_there, 0.25)
    except Failed:
        got = mails_by_address(acked)
        missing = [a for a in acked if a.lower() not in got]
        raise Failed(f"{len(missing)} of {len(acked)} acknowledged sends got no mail within "
                     f"{MAIL_LIMIT} s, e.g. {missing[:3]}")
    twice = [name for name, copies in mail_files().items() if len(copies) > 1]
    check(not twice, f"delivered twice (by both mailers): {twice[:5]}")
    codes = {}
    for a in acked:
        entries = sorted(got[a.lower()])  # names begin with the creation time
        check(entries[-1][2] is not None, f"the mail to {a} holds no code")
        codes[a] = entries[-1][2]
    return codes


def check_codes_verify(cluster, codes, node_of=None):
    bad = []
    for a, code in codes.items():
        other = None
        if node_of is not None and node_of.get(a) in WEB_NODES:
            other = WEB_NODES[1 - WEB_NODES.index(node_of[a])]
        status, served, body = cluster.verify(a, code, other)
        if status != 200 or not (body or {}).get("data", {}).get("uuid"):
            bad.append((a, status, served, body))
        elif other is not None and served != other:
            bad.append((a, "served by", served, "not", other))
    check(not bad, f"{len(bad)} of {len(codes)} acknowledged codes do not verify: {bad[:3]}")


# ---- load --------------------------------------------------------------------

class Load:
    """threads clients sending, one contact each time, until stop()."""

    def __init__(self, cluster, addresses, threads=3):
        self.cluster = cluster
        self.addresses = iter(addresses)
        self.lock = threading.Lock()
        self.results = []  # (address, status, node, t_start, t_end)
        self.bad_503 = []  # 503 answers without the 1503 envelope
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(threads)]

    def run(self):
        while not self.stopping.is_set():
            with self.lock:
                address = next(self.addresses, None)
            if address is None:
                return
            t0 = time.monotonic()
            status, node, body = self.cluster.send(address)
            with self.lock:
                self.results.append((address, status, node, t0, time.monotonic()))
                if status == 503 and body != UNAVAILABLE:
                    self.bad_503.append(body)
            if status != 200:
                # A client pauses before it tries again (haproxy answers in
                # microseconds while no node is healthy).
                self.stopping.wait(0.05)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(60)

    def __exit__(self, *exc):
        self.stop()

    def count(self, pred):
        with self.lock:
            return sum(1 for r in self.results if pred(r))

    def wait_for(self, what, n, pred, seconds=60):
        wait_until(what, seconds, lambda: self.count(pred) >= n, 0.05)

    def statuses(self):
        check(not self.bad_503, f"503 without the 1503 envelope: {self.bad_503[:2]}")
        out = {}
        for r in self.results:
            out[r[1]] = out.get(r[1], 0) + 1
        return out

    def acked(self):
        return [r[0] for r in self.results if r[1] == 200]


# ---- the tests ---------------------------------------------------------------

def test_traffic_through_both_nodes(cluster):
    """Each send, made through one web node, is verified through the other."""
    addresses = cluster.contacts(10)
    node_of = {}
    for i, a in enumerate(addresses):
        node = WEB_NODES[i % 2]
        status, served, body = cluster.send(a, node)
        check(status == 200, f"send to {a} through {node}: {status} {body}")
        check(served == node, f"send pinned to {node} answered by {served}")
        node_of[a] = node
    codes = check_delivery(cluster, addresses)
    check_codes_verify(cluster, codes, node_of)


def test_pgbouncer_restarted(cluster):
    """PgBouncer of web1 killed and started again under load: no 500, only 503s
    for what was in flight (and while haproxy still routes to web1), and web1
    serves again through the new PgBouncer."""
    with Load(cluster, cluster.contacts(6000)) as load:
        load.wait_for("30 sends before", 30, lambda r: r[1] == 200)
        t = time.monotonic()
        cluster.tool("restart", "pgbouncer1")
        load.wait_for("20 sends answered by web1 after the restart", 20,
                      lambda r: r[1] == 200 and r[2] == "web1" and r[3] > t)
    st = load.statuses()
    print(f"     pgbouncer1 restarted: answers {st}", flush=True)
    check(set(st) <= {200, 503}, f"answers other than 200 and 503: {st}")
    # The nodes' own checks say both are healthy again.
    wait_until("web1 healthy again", 30, lambda: cluster.status()["web1"]["role"] == "healthy")
    check_delivery(cluster, load.acked())


def node_mailer(cluster, node):
    """The PID of node's cv-mailer (from its network namespace)."""
    ns = f"{cluster.env['CV_CLUSTER_PREFIX']}-{node}"
    pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv0 = f.read().split(b"\0")[0]
        except OSError:
            continue
        if argv0.endswith(b"/cv-mailer"):
            return int(pid)
    raise Failed(f"no cv-mailer runs in {ns}")


def hold_claims(cluster, load, tag):
    """Stops web1's mailer (SIGSTOP) at a moment it holds claimed rows it
    has not delivered: rows 'sending' for over 2 s (web2's mailer records its
    own within milliseconds) whose .eml web1 has not written.  A stop that
    catches no such row, or one whose message web1 wrote but had not
    recorded yet (that message would be delivered twice: the at-least-once
    window of a mailer that dies between delivering and recording), is
    undone (SIGCONT) and tried again.  Returns the ids of the held rows."""
    pid = node_mailer(cluster, "web1")
    lease = int(cluster.env["CV_CLUSTER_LEASE"])
    web1_dir = os.path.join(STATE, "mail", "web1")
    for attempt in range(20):
        os.kill(pid, signal.SIGSTOP)
        deadline = time.monotonic() + 4
        rows = []
        while time.monotonic() < deadline and not rows:
            rows = cluster.sql(
                "SELECT id, extract(epoch FROM created_at)::bigint || '-' || id || '.eml' FROM cv.outbox"
                f" WHERE status = 'sending' AND to_email LIKE '{tag}-%'"
                f" AND next_attempt_at < now() + interval '{lease - 2} seconds'")
            if not rows:
                time.sleep(0.2)
        if rows and not any(os.path.exists(os.path.join(web1_dir, name)) for _, name in rows):
            return [int(i) for i, _ in rows]
        os.kill(pid, signal.SIGCONT)
        n = load.count(lambda r: r[1] == 200)
        load.wait_for("more sends", n + 20, lambda r: r[1] == 200)
    raise Failed("web1's mailer never held an undelivered claim in 20 tries")


def test_web_node_killed_under_load(cluster):
    """web1's nginx, responders, mailer (and PgBouncer) SIGKILLed under load,
    its mailer holding claimed rows: haproxy moves the traffic to web2, no
    acknowledged send is lost, every queued mail is delivered exactly once
    (the rows web1's mailer had claimed are taken over by web2's after their
    lease)."""
    addresses = cluster.contacts(6000)
    tag = addresses[0].split("-")[0]
    with Load(cluster, addresses) as load:
        load.wait_for("50 sends before the kill", 50, lambda r: r[1] == 200)
        held = hold_claims(cluster, load, tag)
        t = time.monotonic()
        cluster.tool("kill", "web1")
        load.wait_for("50 sends through web2 after the kill", 50,
                      lambda r: r[1] == 200 and r[2] == "web2" and r[3] > t + 1)
    st = load.statuses()
    print(f"     web1 killed: answers {st}", flush=True)
    # What web1 was answering when it died: haproxy answers the 1503
    # envelope (its 502 made a 503, as nginx does), or retries a connection
    # never made on web2; never 500, never haproxy's own page, never no answer.
    check(set(st) <= {200, 503}, f"answers other than 200 and 503: {st}")
    acked = load.acked()
    codes = check_delivery(cluster, acked)
    check_codes_verify(cluster, codes)
    taken = cluster.sql("SELECT id FROM cv.outbox WHERE attempts > 1 AND status = 'sent'"
                        f" AND id IN ({', '.join(map(str, held))})")
    check(len(taken) == len(held), f"of the {len(held)} rows web1's mailer held, only {len(taken)}"
          " were delivered by web2's after the lease")
    print(f"     {len(acked)} acknowledged sends, each delivered once; the {len(held)} mail(s) web1's"
          " mailer held when it died were taken over after the lease", flush=True)
    cluster.tool("restart", "web1")
    wait_until("web1 healthy again", 30, lambda: cluster.status()["web1"]["role"] == "healthy")


def test_primary_killed_under_load(cluster):
    """The primary SIGKILLed under load: Patroni promotes the synchronous
    standby; every send acknowledged before the kill verifies after it;
    nothing is delivered twice; in between only 503s.  Prints the time from
    the kill to the first good send."""
    before = cluster.status()
    primary = next(n for n in ("db1", "db2") if before[n]["role"] == "primary")
    with Load(cluster, cluster.contacts(6000)) as load:
        load.wait_for("50 sends before the kill", 50, lambda r: r[1] == 200)
        cluster.tool("kill", "primary")
        t = time.monotonic()  # its processes are gone now
        load.wait_for("the first good send after the kill", 1,
                      lambda r: r[1] == 200 and r[3] > t, seconds=90)
        first = min(r[4] for r in load.results if r[1] == 200 and r[3] > t)
        load.wait_for("50 good sends after the failover", 50, lambda r: r[1] == 200 and r[3] > first)
    st = load.statuses()
    after = cluster.status()
    new = next((n for n in ("db1", "db2") if after[n]["role"] == "primary"), None)
    print(f"     primary {primary} killed: {new} promoted; first good send {first - t:.1f} s after"
          f" the kill (route {cluster.env.get('CV_CLUSTER_ROUTE')}); answers {st}", flush=True)
    check(new is not None and new != primary, f"no new primary: {after}")
    check(set(st) <= {200, 503}, f"answers other than 200 and 503: {st}")
    acked_before = [r[0] for r in load.results if r[1] == 200 and r[4] <= t]
    codes = check_delivery(cluster, load.acked())
    check_codes_verify(cluster, {a: codes[a] for a in acked_before})
    check_codes_verify(cluster, {a: c for a, c in codes.items() if a not in set(acked_before)})


TESTS = [test_traffic_through_both_nodes, test_pgbouncer_restarted,
         test_web_node_killed_under_load, test_primary_killed_under_load]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", dest="keyword", default="")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    selected = [t for t in TESTS if args.keyword in t.__name__]
    if args.list:
        for t in selected:
            print(t.__name__)
        return 0
    passed = failed = 0
    start = time.monotonic()
    cluster = Cluster()
    try:
        try:
            cluster.start()
            print(f"cluster: up in {time.monotonic() - start:.1f} s on 127.0.0.1:{cluster.port}", flush=True)
        except Exception as e:  # noqa: BLE001 - reported as a failure
            print(f"FAIL cluster start: {e}", flush=True)
            print(cluster.tail(), flush=True)
            print(f"{passed} passed, {len(selected)} failed", flush=True)
            return 1
        for t in selected:
            t0 = time.monotonic()
            try:
                t(cluster)
                passed += 1
                print(f"ok   {t.__name__}  ({time.monotonic() - t0:.1f} s)", flush=True)
            except Exception as e:  # noqa: BLE001 - every failure is reported
                failed += 1
                print(f"FAIL {t.__name__}: {str(e).splitlines()[0] if str(e) else type(e).__name__}",
                      flush=True)
                print("     " + traceback.format_exc().rstrip().replace("\n", "\n     "), flush=True)
    finally:
        cluster.stop()
        os.unlink(cluster.log.name)
        if failed == 0 and os.environ.get("CV_KEEP_STATE") != "1":
            shutil.rmtree(STATE, ignore_errors=True)
        else:
            print(f"cluster: state (logs: */log/) kept in {STATE}", flush=True)
    print(f"cluster: {len(selected)} tests in {time.monotonic() - start:.1f} s", flush=True)
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
