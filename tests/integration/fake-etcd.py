#!/usr/bin/env python3
"""A FAKE etcd for the dcs hostile-input test: a process pretending to be etcd on loopback.

Usage: fake-etcd.py PORT MODE. It answers every POST according to MODE:
  garbage    200 with a body that is not JSON
  mistyped   200 with a range reply whose fields have the wrong types
  huge       200 with an endless JSON string (more than any cap)
  truncated  200 promising 4096 bytes, sending 20 and closing
  hang       reads the request and never answers
  drip       200, then one byte per second, forever
  html500    500 with an HTML page
GET /version answers like etcd 3.4 so connect gets as far as the RPCs.
"""
import socketserver
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        body = b'{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(n)
        mode = self.server.mode
        try:
            if mode == "hang":
                time.sleep(3600)
            elif mode == "garbage":
                self.reply(200, b"<<this is not json>>")
            elif mode == "mistyped":
                self.reply(200, b'{"header":{"revision":{"x":1}},"kvs":"nope"}')
            elif mode == "html500":
                self.reply(500, b"<html><body>Internal Server Error</body></html>")
            elif mode == "truncated":
                self.send_response(200)
                self.send_header("Content-Length", "4096")
                self.end_headers()
                self.wfile.write(b'{"header":{"revision"')
                self.wfile.flush()
                self.close_connection = True
            elif mode == "huge":
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = b'{"x":"' + b"a" * 65536
                while True:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    chunk = b"a" * 65536
            elif mode == "drip":
                self.send_response(200)
                self.send_header("Content-Length", "1000000")
                self.end_headers()
                while True:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(1)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def reply(self, code, body):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server(ThreadingHTTPServer):
    daemon_threads = True


def main():
    server = Server(("127.0.0.1", int(sys.argv[1])), Handler)
    server.mode = sys.argv[2]
    server.serve_forever()


if __name__ == "__main__":
    main()
