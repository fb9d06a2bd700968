#!/usr/bin/env python3
"""Hostile-client tool for rest-hostile.sh (loopback only).

  hold PORT N FIRST_IP SECONDS [PER_IP]
                                 open N idle connections spread over 127.0.0.FIRST_IP..
                                 (PER_IP per address, default 50), hold them SECONDS, print
                                 how many the server still holds open
  slowloris PORT N IP SECONDS    N connections from IP that send one header byte per second
  oneshot PORT KIND              send one hostile request, print the status line (or "closed")
"""
import socket
import sys
import time

HOST = "127.0.0.1"


def connect(port, src_ip):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    s.bind((src_ip, 0))
    s.connect((HOST, port))
    return s


def hold(port, n, first, seconds, per_ip):
    socks = []
    for i in range(n):
        ip = "127.0.0.%d" % (first + i // per_ip)
        try:
            socks.append(connect(port, ip))
        except OSError:
            pass
    print("opened %d" % len(socks), flush=True)
    time.sleep(seconds)
    # count those the server kept open (not reset/closed by the per-IP or total limits)
    alive = 0
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1):
                pass  # the server answered something: not an idle slot any more
        except BlockingIOError:
            alive += 1  # open, nothing received: the server still holds the slot
        except OSError:
            pass
        s.close()
    print("still open after %ds: %d" % (seconds, alive), flush=True)


def slowloris(port, n, ip, seconds):
    socks = []
    for _ in range(n):
        try:
            s = connect(port, ip)
            s.sendall(b"GET /primary HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)
        except OSError:
            pass
    end = time.time() + seconds
    while time.time() < end:
        for s in list(socks):
            try:
                s.sendall(b"X")
            except OSError:
                socks.remove(s)
        time.sleep(1)
    print("slowloris connections alive at the end: %d" % len(socks), flush=True)


def oneshot(port, kind):
    payloads = {
        "garbage": b"\x00\x01\x02 not http at all\r\n\r\n",
        "noversion": b"GET /\r\n\r\n",
        "badmethod": b"G\x7fT / HTTP/1.0\r\n\r\n",
        "badheader": b"GET / HTTP/1.0\r\nNo colon here\r\n\r\n",
        "hugeuri": b"GET /" + b"a" * 200000 + b" HTTP/1.0\r\n\r\n",
        "hugeheader": b"GET / HTTP/1.0\r\nX-Big: " + b"b" * 1000000 + b"\r\n\r\n",
        "manyheaders": b"GET / HTTP/1.0\r\n" + b"X-H: v\r\n" * 20000 + b"\r\n",
        "hugebody_declared": b"POST /switchover HTTP/1.0\r\nContent-Length: 100000000\r\n\r\n{",
        "hugebody_sent": b"POST /switchover HTTP/1.0\r\nContent-Length: 2000000\r\n\r\n"
        + b"{" * 2000000,
        "hugebody_chunked": b"POST /switchover HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        + (b"100000\r\n" + b"x" * 0x100000 + b"\r\n") * 4 + b"0\r\n\r\n",
        "negative_length": b"POST /switchover HTTP/1.0\r\nContent-Length: -5\r\n\r\n",
        "deepjson": b"POST /switchover HTTP/1.0\r\nContent-Length: 60000\r\n\r\n" + b"[" * 60000,
    }
    data = payloads[kind]
    s = connect(port, HOST)
    try:
        s.sendall(data)
    except OSError:
        pass
    try:
        line = s.recv(200).split(b"\r\n")[0].decode("latin-1")
    except OSError:
        line = ""
    s.close()
    print(line or "closed", flush=True)


def main():
    mode = sys.argv[1]
    if mode == "hold":
        hold(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]),
             int(sys.argv[6]) if len(sys.argv) > 6 else 50)
    elif mode == "slowloris":
        slowloris(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5]))
    elif mode == "oneshot":
        oneshot(int(sys.argv[2]), sys.argv[3])


if __name__ == "__main__":
    main()
