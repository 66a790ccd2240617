"""Shared-hosting mode (README, "Deployment"): a responder run as plain CGI
without CV_CONFIG finds cv.conf next to its own binary; a configuration
file inside the web server's DOCUMENT_ROOT is refused with 503 and one
clear log line; a configuration that does not load still answers the CGI
request with the envelope; and a database named by host and port (TCP, as a
remote one) works."""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading

from stack import config, env, service_user

UNAVAILABLE = b'{"message":"Service unavailable.","code":1503,"status_code":503}'


def cgi(binary, cv_config=None, document_root=None, path_info=None):
    """Runs binary once as a GET CGI request as the service user; returns
    (status, body, stderr)."""
    cgi_env = {"PATH": "/usr/bin:/bin", "GATEWAY_INTERFACE": "CGI/1.1",
               "SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_METHOD": "GET",
               "SCRIPT_NAME": "/healthz", "REMOTE_ADDR": "127.0.0.1"}
    if cv_config is not None:
        cgi_env["CV_CONFIG"] = cv_config
    if document_root is not None:
        cgi_env["DOCUMENT_ROOT"] = document_root
    for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if name in os.environ:
            cgi_env[name] = os.environ[name]
    cmd = ["runuser", "-u", service_user(), "--", "env", "-i"] + \
        [f"{k}={v}" for k, v in cgi_env.items()] + [binary]
    p = subprocess.run(cmd, input=b"", capture_output=True, timeout=30, cwd="/")
    stderr = p.stderr.decode("utf-8", "replace")
    assert "runtime error:" not in stderr and "Sanitizer" not in stderr, stderr
    head, _, body = p.stdout.partition(b"\r\n\r\n")
    m = re.search(rb"^Status: (\d{3})", head, re.M)
    return (int(m.group(1)) if m else None), body, stderr


class Site:
    """A private directory tree owned by the service user: cgi-bin/ with a
    copy of healthz, and htdocs/ (a document root)."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="itest-site.", dir=env("CV_STATE_DIR"))
        self.cgi_bin = os.path.join(self.root, "cgi-bin")
        self.htdocs = os.path.join(self.root, "htdocs")
        os.mkdir(self.cgi_bin)
        os.mkdir(self.htdocs)
        self.healthz = os.path.join(self.cgi_bin, "healthz")
        shutil.copy2(os.path.join(env("CV_BIN_DIR"), "healthz"), self.healthz)

    def write_config(self, path):
        with open(path, "w", encoding="utf-8") as f:
            f.write("".join(f"{k} = {v}\n" for k, v in config().items()))
        os.chmod(path, 0o600)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.root, ignore_errors=True)

    def own(self):
        subprocess.run(["chown", "-R", f"{service_user()}:", self.root], check=True)
        os.chmod(self.root, 0o700)


def test_cgi_finds_config_next_to_its_binary():
    with Site() as site:
        site.write_config(os.path.join(site.cgi_bin, "cv.conf"))
        site.own()
        status, body, stderr = cgi(site.healthz, document_root=site.htdocs)
        assert status == 200 and b'"database":"ok"' in body, (status, body, stderr)
        # CV_CONFIG still wins over the file next to the binary.
        status, body, _ = cgi(site.healthz, cv_config=os.path.join(site.root, "missing.conf"))
        assert status == 503 and body == UNAVAILABLE, (status, body)


def test_cgi_refuses_config_inside_document_root():
    with Site() as site:
        inside = os.path.join(site.htdocs, "private", "cv.conf")
        os.mkdir(os.path.dirname(inside))
        site.write_config(inside)
        site.own()
        for root in (site.htdocs, site.htdocs + "/", site.root):
            status, body, stderr = cgi(site.healthz, cv_config=inside, document_root=root)
            assert status == 503 and body == UNAVAILABLE, (root, status, body, stderr)
            assert "lies inside the document root" in stderr, stderr
            assert config()["code_secret"] not in stderr
        # Next to it but outside (a sibling whose name starts the same) is fine.
        sibling = site.htdocs + "-private"
        os.mkdir(sibling)
        outside = os.path.join(sibling, "cv.conf")
        site.write_config(outside)
        site.own()
        status, body, stderr = cgi(site.healthz, cv_config=outside, document_root=site.htdocs)
        assert status == 200, (status, body, stderr)


def test_cgi_missing_config_answers_503_envelope():
    with Site() as site:
        site.own()
        status, body, stderr = cgi(site.healthz, cv_config=os.path.join(site.root, "none.conf"))
        assert status == 503 and body == UNAVAILABLE, (status, body, stderr)
        assert "configuration:" in stderr, stderr


class TcpToUnix:
    """A TCP listener on 127.0.0.1 that forwards each connection to the
    stack's PostgreSQL unix socket: a database reached by host name and
    port, as a remote one is, without changing the cluster."""

    def __init__(self, unix_path):
        self.unix_path = unix_path
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            server = socket.socket(socket.AF_UNIX)
            server.connect(self.unix_path)
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self.pump, args=(a, b), daemon=True).start()

    @staticmethod
    def pump(src, dst):
        try:
            while (data := src.recv(65536)):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.listener.close()


def test_cgi_reaches_database_by_host_and_port():
    # database = a libpq connection string naming a host and port (TCP), as
    # for a remote PostgreSQL on shared hosting.
    params = dict(kv.split("=", 1) for kv in config()["database"].split())
    proxy = TcpToUnix(os.path.join(params["host"], f".s.PGSQL.{params.get('port', '5432')}"))
    try:
        with Site() as site:
            path = os.path.join(site.cgi_bin, "cv.conf")
            site.write_config(path)
            remote = " ".join(f"{k}={v}" for k, v in dict(
                params, host="127.0.0.1", port=str(proxy.port), sslmode="disable").items())
            with open(path, encoding="utf-8") as f:
                text = f.read()
            with open(path, "w", encoding="utf-8") as f:
                f.write(re.sub(r"(?m)^database\s*=.*$", f"database = {remote}", text))
            site.own()
            status, body, stderr = cgi(site.healthz, document_root=site.htdocs)
            assert status == 200 and b'"database":"ok"' in body, (status, body, stderr)
            assert proxy.connections == 1, proxy.connections
    finally:
        proxy.close()
