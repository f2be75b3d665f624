#!/usr/bin/python3
"""Bad input: truncated frames, frames over the cap, binary garbage, a
slowloris connection, a missing MSH, an unknown sender, garbage inside a
frame and many idle connections. Each gets AR or a closed connection, the
server keeps serving a well-behaved sender throughout, and nothing already
accepted is lost."""
import os
import random
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from tklib import *  # noqa: E402,F401,F403

ORG = os.path.join(SRC, "tests", "fixtures", "org-testdata.json")


class Good(threading.Thread):
    """Sends admissions and discharges one at a time until told to stop;
    every ACK must be AA and come back within 10 s."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.stop = threading.Event()
        self.sent = 0
        self.error = None

    def run(self):
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            i = 0
            while not self.stop.is_set():
                trig = "A01" if i % 2 == 0 else "A03"
                s.sendall(frame(adt("G-%d" % i, trig, "GV%d" % (i // 2))))
                ack = read_frame(s, timeout=10)
                if ack is None:
                    self.error = "good connection closed"
                    return
                a = parse_ack(ack)
                if a["code"] != "AA":
                    self.error = "good message %d: %s %r" % (i, a["code"], a["segments"])
                    return
                i += 1
                self.sent = i
                time.sleep(0.005)
            s.close()
        except Exception as e:  # noqa: BLE001
            self.error = repr(e)


def closed_by_server(s, timeout):
    """True when the server closes 's' within 'timeout' seconds."""
    s.settimeout(timeout)
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def ack_of(port, payload):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(frame(payload))
    ack = read_frame(s, timeout=10)
    s.close()
    check(ack is not None, "no ACK for %r" % payload[:40])
    return parse_ack(ack)


def main():
    tmpdir, data = init_data(org=ORG)
    srv = Server(data, env={"TK_MLLP_MAX_FRAME": "64k", "TK_MLLP_FRAME_TIMEOUT": "2s",
                            "TK_MLLP_IDLE_TIMEOUT": "4s"}).start()
    port = srv.mllp_port
    good = Good(port)
    good.start()
    ar = 0
    rnd = random.Random(7)

    # many idle connections: the good sender must not notice
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(200)]

    # truncated frame, then the peer goes away
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(SB + adt("T-1", "A01", "TV1")[:40])
    s.close()

    # a frame over the 64 KiB cap: the connection is closed
    s = socket.create_connection(("127.0.0.1", port))
    try:
        s.sendall(SB + b"MSH|^~\\&|LOADGEN|TEST|" + b"X" * (200 * 1024) + EB + CR)
    except OSError:
        pass
    check(closed_by_server(s, 5), "oversized frame: connection not closed")
    s.close()

    # binary garbage outside any frame: closed
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(bytes(rnd.randrange(14, 256) for _ in range(4096)))
    check(closed_by_server(s, 5), "garbage: connection not closed")
    s.close()

    # slowloris: one byte every 0.3 s never completes a frame: closed
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(SB)
    t0 = time.time()
    closed = False
    msg = adt("S-1", "A01", "SV1")
    for b in msg:
        try:
            s.sendall(bytes([b]))
        except OSError:
            closed = True
            break
        s.settimeout(0.3)
        try:
            if s.recv(1) == b"":
                closed = True
                break
        except socket.timeout:
            pass
        except OSError:
            closed = True
            break
        if time.time() - t0 > 15:
            break
    check(closed, "slowloris connection not closed in 15 s")
    s.close()

    # missing MSH: AR
    a = ack_of(port, b"PID|1||131052-308T^^^1.2.246.21^NNFIN\rPV1|1|I|W1\r")
    check(a["code"] == "AR", "missing MSH got %s" % a["code"])
    ar += 1

    # unknown sender: AR naming the sender
    a = ack_of(port, adt("U-1", "A01", "UV1", app="NOBODY", fac="NOWHERE"))
    check(a["code"] == "AR" and a["control"] == "U-1", "unknown sender: %r" % a)
    check("not configured" in "\r".join(a["segments"]), "AR reason missing: %r" % a["segments"])
    ar += 1

    # random bytes inside a frame: AR
    junk = bytes(rnd.choice(b"abcdefgh|^~\\&\r0123") for _ in range(300))
    a = ack_of(port, junk)
    check(a["code"] == "AR", "framed garbage got %s" % a["code"])
    ar += 1

    # an unmappable location: AE naming PV1-3
    a = ack_of(port, adt("L-1", "A01", "LV1", poc="NOWARD"))
    check(a["code"] == "AE", "unknown location got %s" % a["code"])
    err = [x for x in a["segments"] if x.startswith("ERR")][0]
    check("PV1" in err and "NOWARD" in err, "ERR does not name PV1-3: %r" % err)

    time.sleep(1.0)
    good.stop.set()
    good.join(15)
    check(good.error is None, "good sender: %s" % good.error)
    check(good.sent >= 20, "good sender made little progress: %d" % good.sent)
    # the idle connections were closed by the idle timeout
    closed_idle = sum(1 for c in idle if closed_by_server(c, 6))
    check(closed_idle == len(idle), "%d of %d idle connections closed" % (closed_idle, len(idle)))
    for c in idle:
        c.close()
    st = status(data)
    m = st["messages"]
    check(m["accepted"] == good.sent, "accepted %d != good %d" % (m["accepted"], good.sent))
    check(m["rejected"] == ar, "rejected %d != %d" % (m["rejected"], ar))
    check(m["errors"] == 1, "errors %d != 1" % m["errors"])
    check(m["dead_letters"] == ar + 1, "dead letters %d" % m["dead_letters"])
    # restart: nothing accepted is lost
    srv.kill()
    srv.start()
    st2 = status(data)
    check(st2["messages"]["accepted"] == good.sent, "lost messages across restart")
    check(st2["events"]["total"] == st["events"]["total"], "lost events across restart")
    srv.stop()
    print("bad input: good sender %d AA throughout; %d AR, 1 AE; bad connections closed"
          % (good.sent, ar))
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
