"""tklib -- helpers for the integration tests: start the real server on
loopback, talk MLLP, read status. Standard library only (plus python3-hl7's
mllp_send, used as a separate program)."""
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

    def get(self, path):
        with urllib.request.urlopen(
                "http://127.0.0.1:%d%s" % (self.http_port, path), timeout=10) as r:
            return r.status, r.read().decode("utf-8")

    def get_json(self, path):
        status, body = self.get(path)
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
