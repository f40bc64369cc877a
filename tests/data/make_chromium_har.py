#!/usr/bin/env python3
"""Makes tests/data/chromium-websocket.har: a real browser's WebSocket frames in Chrome's HAR shape.

Usage: make_chromium_har.py WS_URL OUT.har
Starts Debian's chromium headless with a DevTools port, opens a small page whose script speaks
the Adama protocol to WS_URL (hello, connection/create on chat/demo, pongs, one connection/send,
connection/end), records Network.webSocketFrameSent/Received over the DevTools protocol and
writes them as Chrome's HAR export does (_webSocketMessages: type, time, opcode, data).
Chrome reports frame timestamps on a monotonic clock; `time` is converted to epoch seconds with
the wallTime of the handshake, as DevTools' own HAR export does. Only the standard library.
"""
import base64, json, os, socket, subprocess, sys, tempfile, time, urllib.request

PAGE = """<!doctype html><meta charset=utf-8><title>adama</title><script>
const ws = new WebSocket(%(url)s); let id = 0;
ws.onmessage = (e) => { const m = JSON.parse(e.data);
  if (m.status === 'connected') ws.send(JSON.stringify({method:'connection/create', id:++id,
      identity:'anonymous:chromium', space:'chat', key:'demo', 'viewer-state':{page:0}}));
  else if ('ping' in m) { m.pong = Date.now() / 1000; ws.send(JSON.stringify(m)); } };
setTimeout(() => ws.send(JSON.stringify({method:'connection/send', id:++id, connection:1, channel:'say',
    message:{what:'hello from chromium \\u00e9'}})), 1500);
setTimeout(() => ws.send(JSON.stringify({method:'connection/end', id:++id, connection:1})), 3000);
setTimeout(() => { ws.close(); document.title = 'done'; }, 3600);
</script>"""


class Cdp:
    def __init__(self, ws_url):
        host, rest = ws_url[len("ws://"):].split("/", 1)
        h, p = host.split(":")
        self.sock = socket.create_connection((h, int(p)))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{rest} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += self.sock.recv(4096)
        self.buf = buf.split(b"\r\n\r\n", 1)[1]
        self.next_id = 0

    def send(self, method, params=None):
        self.next_id += 1
        data = json.dumps({"id": self.next_id, "method": method, "params": params or {}}).encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        n = len(data)
        header += bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big") if n < 65536 else bytes([0x80 | 127]) + n.to_bytes(8, "big")
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        b0, b1 = self._read(2)
        n = b1 & 0x7F
        if n == 126:
            n = int.from_bytes(self._read(2), "big")
        elif n == 127:
            n = int.from_bytes(self._read(8), "big")
        return json.loads(self._read(n))


def main():
    ws_url, out = sys.argv[1], sys.argv[2]
    page = os.path.join(tempfile.mkdtemp(), "page.html")
    with open(page, "w") as f:
        f.write(PAGE % {"url": json.dumps(ws_url)})
    port = 9333
    browser = subprocess.Popen(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                                f"--user-data-dir={tempfile.mkdtemp()}", f"--remote-debugging-port={port}", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json"))
                pages = [t for t in targets if t["type"] == "page"]
                if pages:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        cdp = Cdp(pages[0]["webSocketDebuggerUrl"])
        cdp.send("Network.enable")
        cdp.send("Page.navigate", {"url": "file://" + page})
        messages, started, url, deadline = [], None, ws_url, time.time() + 15
        wall_base = None
        while time.time() < deadline:
            event = cdp.recv()
            method, params = event.get("method"), event.get("params", {})
            if method == "Network.webSocketWillSendHandshakeRequest":
                wall_base = params["wallTime"] - params["timestamp"]
                started = params["wallTime"]
            elif method in ("Network.webSocketFrameSent", "Network.webSocketFrameReceived"):
                r = params["response"]
                messages.append({"type": "send" if method.endswith("Sent") else "receive",
                                 "time": round(wall_base + params["timestamp"], 6), "opcode": r["opcode"], "data": r["payloadData"]})
            elif method == "Network.webSocketClosed":
                break
        started_iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(started)) + ".%03dZ" % int((started % 1) * 1000)
        har = {"log": {"version": "1.2", "creator": {"name": "WebInspector", "version": "537.36"}, "pages": [],
                       "entries": [{"startedDateTime": started_iso, "time": 0,
                                    "request": {"method": "GET", "url": url, "httpVersion": "HTTP/1.1", "headers": [],
                                                "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},
                                    "response": {"status": 101, "statusText": "Switching Protocols", "httpVersion": "HTTP/1.1",
                                                 "headers": [], "cookies": [], "content": {"size": 0, "mimeType": "x-unknown"},
                                                 "redirectURL": "", "headersSize": -1, "bodySize": 0},
                                    "cache": {}, "timings": {"blocked": -1, "dns": -1, "ssl": -1, "connect": -1, "send": 0,
                                                             "wait": 0, "receive": 0},
                                    "_resourceType": "websocket", "_webSocketMessages": messages}]}}
        with open(out, "w") as f:
            json.dump(har, f, indent=2, ensure_ascii=False)
            f.write("\n")
        print(f"{len(messages)} frames -> {out}")
    finally:
        browser.kill()


if __name__ == "__main__":
    main()
