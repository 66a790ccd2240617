"""cv.conf's `statements = named|unnamed` (README "Scaling out"): with
unnamed, a FastCGI responder sends every statement with PQexecParams and so
works behind PgBouncer 1.18 in transaction mode, which hands one server
connection to whichever client runs a transaction and cannot keep named
prepared statements.  The test runs a real PgBouncer (transaction mode, one
server connection) in front of the stack's PostgreSQL and two `send`
processes under spawn-fcgi sharing it, and talks FastCGI to them itself (a
minimal client below): with named statements the second process would find
the first one's "send" on the shared server connection."""
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time

import stack

PGBOUNCER = "/usr/sbin/pgbouncer"


def fcgi_request(sock_path, params, body=b"", timeout=10):
    """One FastCGI request (role responder) over the unix socket: the CGI
    status and the body of the answer."""
    def record(rtype, content, request_id=1):
        return struct.pack("!BBHHBx", 1, rtype, request_id, len(content), 0) + content

    def pair(k, v):
        k, v = k.encode(), v.encode()
        enc = b""
        for n in (len(k), len(v)):
            enc += bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)
        return enc + k + v

    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock_path)
    try:
        encoded = b"".join(pair(k, v) for k, v in params.items())
        s.sendall(record(1, struct.pack("!HB5x", 1, 0)) + record(4, encoded) + record(4, b"")
                  + (record(5, body) if body else b"") + record(5, b""))
        out, buf = b"", b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
            while len(buf) >= 8:
                _, rtype, _, clen, plen = struct.unpack("!BBHHB", buf[:7])
                if len(buf) < 8 + clen + plen:
                    break
                content, buf = buf[8:8 + clen], buf[8 + clen + plen:]
                if rtype == 6:
                    out += content
                elif rtype == 3:
                    buf = b""
                    chunk = None
                    break
            if chunk is None:
                break
    finally:
        s.close()
    head, _, payload = out.partition(b"\r\n\r\n")
    status = 200
    for line in head.decode("latin-1").split("\r\n"):
        if line.lower().startswith("status:"):
            status = int(line.split()[1])
    return status, payload


def send_params(key, body):
    """The CGI variables nginx passes for POST .../send (body: bytes)."""
    return {"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/api/v3/oauth/clients/contact-verification/send",
            "REQUEST_URI": "/api/v3/oauth/clients/contact-verification/send",
            "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
            "HTTP_AUTHORIZATION": f"Bearer {key}", "REMOTE_ADDR": "127.0.0.1",
            "SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_ID": os.urandom(16).hex()}


def wait_for_socket(path, proc, what):
    """Until something accepts connections on the unix socket `path`: the
    file appears at bind(), before listen(), and a connect() in between is
    refused (spawn-fcgi and PgBouncer both bind, chmod, then listen)."""
    deadline = time.monotonic() + 10
    while True:
        assert proc.poll() is None, f"{what} exited with status {proc.returncode}"
        if os.path.exists(path):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                return
            except (ConnectionRefusedError, FileNotFoundError):
                pass
            finally:
                s.close()
        assert time.monotonic() < deadline, f"{what}: nothing accepts on {path} after 10 s"
        time.sleep(0.05)


def stop(proc):
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def write_conf(path, lines):
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    shutil.chown(path, "root", stack.env("CV_SERVICE_USER"))
    os.chmod(path, 0o640)


def test_statements_setting():
    user = stack.env("CV_SERVICE_USER")
    state = stack.env("CV_STATE_DIR")
    account, _ = stack.setup()
    contacts = [account.add_contact() for _ in range(6)]
    with open(stack.env("CV_CONFIG"), encoding="utf-8") as f:
        base = [line.rstrip("\n") for line in f
                if not line.startswith(("database", "statements"))]
    work = tempfile.mkdtemp(prefix="pooler.", dir=state)
    shutil.chown(work, user, user)
    os.chmod(work, 0o750)
    bouncer = responder = None
    try:
        # A value other than named or unnamed: the responder refuses to start.
        bad = os.path.join(work, "bad.conf")
        write_conf(bad, base + ["statements = sometimes"])
        r = subprocess.run([os.path.join(stack.env("CV_BIN_DIR"), "send")], user=user, group=user,
                           extra_groups=[], env={"CV_CONFIG": bad, "REQUEST_METHOD": "GET"},
                           cwd=work, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=10)
        assert "statements must be named or unnamed" in r.stderr, r.stderr

        # PgBouncer in transaction mode with ONE server connection.
        ini = os.path.join(work, "pgbouncer.ini")
        with open(ini, "w", encoding="utf-8") as f:
            f.write(f"[databases]\ncontact_verify = host={state}/run port=5432 dbname=contact_verify\n"
                    f"[pgbouncer]\nlisten_addr =\nlisten_port = 6432\nunix_socket_dir = {work}\n"
                    f"auth_type = trust\nauth_file = {work}/users.txt\npool_mode = transaction\n"
                    "default_pool_size = 1\nmax_client_conn = 10\nignore_startup_parameters = options\n"
                    f"logfile = {work}/pgbouncer.log\npidfile = {work}/pgbouncer.pid\n")
        with open(os.path.join(work, "users.txt"), "w", encoding="utf-8") as f:
            f.write('"cv_app" ""\n')
        for name in ("pgbouncer.ini", "users.txt"):
            shutil.chown(os.path.join(work, name), user, user)
        bouncer = subprocess.Popen([PGBOUNCER, ini], user=user, group=user, extra_groups=[],
                                   cwd=work, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        wait_for_socket(os.path.join(work, ".s.PGSQL.6432"), bouncer, "pgbouncer")

        good = os.path.join(work, "cv.conf")
        write_conf(good, base + [f"database = host={work} port=6432 dbname=contact_verify user=cv_app",
                                 "statements = unnamed"])
        sock = os.path.join(work, "send.sock")
        responder = subprocess.Popen(
            ["spawn-fcgi", "-n", "-s", sock, "-M", "0660", "-u", user, "-g", user, "-U", user,
             "-G", user, "--", "/usr/bin/multiwatch", "-f", "2", "-s", "TERM", "--",
             os.path.join(stack.env("CV_BIN_DIR"), "send")],
            env={"CV_CONFIG": good, "PATH": os.environ["PATH"]}, cwd=work,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(state, "log", "send-pooler.log"), "ab"), start_new_session=True)
        wait_for_socket(sock, responder, "spawn-fcgi")

        # Both processes take requests (each FastCGI connection goes to
        # whichever accepts it first), all through the one server connection.
        for contact in contacts:
            body = stack.compact({"email": contact.email})
            status, payload = fcgi_request(sock, send_params(account.key, body), body)
            assert status == 200, (status, payload)
            assert b'"type":"Success"' in payload, payload
        sent = stack.query_one("SELECT count(*) FROM cv.passcodes p JOIN cv.contacts c"
                               " ON c.id = p.contact_id WHERE c.account_id = %s", (account.id,))[0]
        assert sent == len(contacts), sent
    finally:
        stop(responder)
        stop(bouncer)
        shutil.rmtree(work, ignore_errors=True)
