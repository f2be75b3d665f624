"""tklib -- helpers for the integration tests: start the real server on
loopback, talk MLLP, read status, make accounts and API tokens with the CLI
and read the HTTP API as a signed-in user. Standard library only (plus
python3-hl7's mllp_send, used as a separate program).

The server always requires sign-in (everything but /healthz, the sign-in
route and the web UI's files answers 401 without a session or token), so a
test that reads the API makes an account with the role it needs and a
token for it:

    tok = user_token(data, "coord", "coordinator", "kh")
    board = srv.get_json("/api/v1/bedboard", token=tok, reason="care")

or sets srv.token / srv.reason once for every request."""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

BIN = os.environ.get("TK_BIN", os.path.join(os.getcwd(), "build", "tilannekuva"))
SRC = os.environ.get("TK_SOURCE_ROOT", os.getcwd())
SHARED = os.environ.get("TK_SHARED", os.path.join(SRC, "..", "shared"))
SB, EB, CR = b"\x0b", b"\x1c", b"\x0d"


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run(args, check_rc=True, **kw):
    p = subprocess.run([BIN] + args, capture_output=True, text=True, **kw)
    if check_rc and p.returncode != 0:
        fail("%s -> %d\n%s%s" % (" ".join(args), p.returncode, p.stdout, p.stderr))
    return p


PASSWORD = "correct horse battery staple"
REASON_HEADER = "X-Access-Reason"


def add_user(data, name, role, scope, password=None):
    """Makes a local account with the CLI: `user add --password-stdin`
    (password given) or `--no-password` (an account for API tokens only)."""
    args = ["user", "add", "--data", data, "--user", name, "--role", role,
            "--scope", scope]
    if password is None:
        run(args + ["--no-password"])
    else:
        run(args + ["--password-stdin"], input=password + "\n")
    return name


def token_create(data, name, expires=None):
    """`token create`: the Bearer token (printed once on stdout)."""
    args = ["token", "create", "--data", data, "--user", name]
    if expires:
        args += ["--expires", expires]
    tok = run(args).stdout.strip().splitlines()[0].strip()
    check(tok.startswith("tk_") and len(tok) == 46, "not a token: %r" % tok)
    return tok


def user_token(data, name, role, scope, password=None):
    """An account and a token for it."""
    add_user(data, name, role, scope, password)
    return token_create(data, name)


def root_unit(data):
    """The id of the organisation's root unit (from DATA/org.json)."""
    with open(os.path.join(data, "org.json"), encoding="utf-8") as f:
        org = json.load(f)
    return [u["id"] for u in org["units"] if not u.get("parent")][0]


def coordinator_token(data, name="coordinator"):
    """A coordinator over the whole organisation (sees person-level rows
    with a reason) and its token."""
    return user_token(data, name, "coordinator", root_unit(data))


def audit_rows(data, user):
    """`audit user-activity --csv` of one user, as a list of dicts."""
    import csv
    import io
    out = run(["audit", "user-activity", "--data", data, "--user", user, "--csv"]).stdout
    return list(csv.DictReader(io.StringIO(out)))


def audit_verify(data):
    """`audit verify`: (ok, output)."""
    p = run(["audit", "verify", "--data", data], check_rc=False)
    return p.returncode == 0, p.stdout + p.stderr


def init_data(org=None, region=None):
    d = tempfile.mkdtemp(prefix="tk-it-")
    data = os.path.join(d, "data")
    args = ["init", "--data", data]
    if org:
        args += ["--org", org]
    if region:
        args += ["--region", region]
    run(args)
    return d, data


class Server:
    """The real binary, serving MLLP and HTTP on free loopback ports."""

    def __init__(self, data, env=None, mllp_port=None, http_port=None):
        self.data = data
        self.mllp_port = mllp_port or free_port()
        self.http_port = http_port or free_port()
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.proc = None
        self.log = open(os.path.join(os.path.dirname(data), "server.log"), "ab")
        # Sent with every request unless a call gives its own.
        self.token = None
        self.reason = None

    def start(self, timeout=30):
        self.proc = subprocess.Popen(
            [BIN, "serve", "--data", self.data,
             "--mllp", "127.0.0.1:%d" % self.mllp_port,
             "--http", "127.0.0.1:%d" % self.http_port],
            stdout=self.log, stderr=self.log, env=self.env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                fail("server exited with %d; log in %s" %
                     (self.proc.returncode, self.log.name))
            try:
                with urllib.request.urlopen(
                        "http://127.0.0.1:%d/healthz" % self.http_port, timeout=1) as r:
                    if r.status == 200:
                        return self
            except Exception:
                time.sleep(0.05)
        fail("server did not become healthy")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                fail("server did not stop on SIGTERM")
            check(rc == 0, "server exited with %d on SIGTERM" % rc)

    def request(self, method, path, token=None, reason=None, headers=None,
                body=None, timeout=10):
        """One request; returns (status, body text, headers dict with
        lowercase names). 'token' (default self.token) is sent as
        'Authorization: Bearer'; 'reason' (default self.reason) as
        X-Access-Reason. Pass token="" or reason="" to send none."""
        token = self.token if token is None else token
        reason = self.reason if reason is None else reason
        if method == "GET" and path.startswith("/api/v1/bedboard") and token:
            self.wait_board_published(token)
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        if reason:
            h[REASON_HEADER] = reason
        c = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read().decode("utf-8")
            return r.status, data, {k.lower(): v for k, v in r.getheaders()}
        finally:
            c.close()

    def wait_board_published(self, token, timeout=10.0):
        """Waits until the bed board readers see has caught up with the last
        commit: the writer publishes it at most every 10 ms, so a board read
        right after an ACK may be one publication behind (docs/API.md,
        /api/v1/status "bedboard.published")."""
        deadline = time.time() + timeout
        while True:
            c = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=10)
            try:
                c.request("GET", "/api/v1/status",
                          headers={"Authorization": "Bearer " + token})
                r = c.getresponse()
                body = r.read().decode("utf-8")
            finally:
                c.close()
            if r.status != 200:
                return  # the caller's own request will show why
            if json.loads(body).get("bedboard", {}).get("published", True):
                return
            check(time.time() < deadline, "bed board not published within %.0f s" % timeout)
            time.sleep(0.005)

    def get(self, path, token=None, reason=None, headers=None):
        """GET: (status, body text). Raises nothing for 4xx/5xx."""
        status, body, _ = self.request("GET", path, token, reason, headers)
        return status, body

    def get_json(self, path, token=None, reason=None, headers=None):
        """GET that must answer 200: the parsed JSON body."""
        status, body = self.get(path, token, reason, headers)
        check(status == 200, "GET %s -> %d: %s" % (path, status, body[:300]))
        return json.loads(body)


def status(data):
    return json.loads(run(["status", "--data", data, "--json"]).stdout)


def frame(msg):
    return SB + msg + EB + CR


def read_frame(sock, timeout=10):
    """Reads one MLLP frame; returns the message bytes, or None on close."""
    sock.settimeout(timeout)
    buf = b""
    while True:
        i = buf.find(EB + CR)
        if i >= 0:
            j = buf.find(SB)
            return buf[j + 1:i] if j >= 0 else buf[:i]
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buf += chunk


def parse_ack(ack):
    """Returns {'code','control','segments'} of an ACK's bytes."""
    text = ack.decode("utf-8", "replace")
    segs = [s for s in text.replace("\n", "\r").split("\r") if s]
    check(segs and segs[0].startswith("MSH"), "ACK does not start with MSH: %r" % text)
    fs = segs[0][3]
    msa = [s for s in segs if s.startswith("MSA")]
    check(len(msa) == 1, "ACK has %d MSA segments: %r" % (len(msa), text))
    f = msa[0].split(fs)
    return {"code": f[1], "control": f[2] if len(f) > 2 else "",
            "segments": segs, "msh": segs[0].split(fs)}


def adt(control, trigger, visit, hetu="131052-308T", poc="W1", bed="", when="20261123101500",
        app="LOADGEN", fac="TEST", extra=""):
    """A small ADT message (bytes) from the load channel."""
    segs = [
        "MSH|^~\\&|%s|%s|TK|TK|%s||ADT^%s^ADT_A01|%s|P|2.5" % (app, fac, when, trigger, control),
        "EVN|%s|%s" % (trigger, when),
        "PID|1||%s^^^1.2.246.21^NNFIN||Testi^Potilas||19521013|F" % hetu,
        "|".join(["PV1", "1", "I", "%s^^%s" % (poc, bed)] + [""] * 15 + [visit]),
    ]
    if extra:
        segs.append(extra)
    return ("\r".join(segs) + "\r").encode()
