"""The app the zero-downtime benchmark (main.py) deploys: standard library only, asyncio, HTTP/1.1 by
hand.

On 127.0.0.1:$PORT (`HOST` overrides the address):
  GET /        its deployment id (env RHONE_DEPLOYMENT_ID); counted
  GET /_count  {"deployment", "requests", "pid"}: how many `GET /` this version received
  GET /health  the health check (not counted)
  GET /slow    its deployment id after 3 s
  GET /sse     ?secs=N: one event per 100 ms for N seconds, then `event: end`
  POST /echo   a body of any size (Content-Length or chunked) -> {"sha256", "length", "deployment"}
  GET /ws      WebSocket (RFC 6455): sends "hello <deployment>", echoes text frames, answers pings,
               and answers a close frame with the same close code
SIGTERM: stops accepting, prints `zd-stats` (requests counted so far), closes idle keep-alive
connections, lets every request, stream and WebSocket in flight finish, prints `zd-exit` and exits.
"""
import asyncio, base64, hashlib, json, os, signal, struct, sys, time

DEPLOYMENT = os.environ.get("RHONE_DEPLOYMENT_ID", "?")
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
count = 0          # `GET /` received
last_at = 0.0      # when the last one arrived (wall clock)
draining = False
conns = {}         # task -> "idle" | "busy"


def log(msg):
    print(msg, flush=True)


async def read_head(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return method, target, headers


async def read_body(reader, headers, sink):
    """Feeds the request body to `sink` chunk by chunk; returns its length."""
    n = 0
    if "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass
                return n
            data = await reader.readexactly(size)
            await reader.readexactly(2)
            sink(data); n += size
    left = int(headers.get("content-length", "0") or 0)
    while left:
        data = await reader.read(min(left, 65536))
        if not data:
            raise ConnectionError("body cut short")
        sink(data); n += len(data); left -= len(data)
    return n


def response(writer, status, body, ctype="text/plain", close=False):
    reason = {200: "OK", 404: "Not Found", 400: "Bad Request"}.get(status, "OK")
    head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
            f"X-Deployment: {DEPLOYMENT}\r\n" + ("Connection: close\r\n" if close else "") + "\r\n")
    writer.write(head.encode() + body)


async def sse(writer, secs):
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                 b"Transfer-Encoding: chunked\r\nX-Deployment: " + DEPLOYMENT.encode() + b"\r\n\r\n")
    chunk = lambda b: writer.write(b"%x\r\n%s\r\n" % (len(b), b))
    for i in range(int(secs * 10)):
        chunk(f"id: {i}\ndata: {DEPLOYMENT} {i}\n\n".encode())
        await writer.drain()
        await asyncio.sleep(0.1)
    chunk(b"event: end\ndata: done\n\n")
    writer.write(b"0\r\n\r\n")
    await writer.drain()


async def ws_frame(reader):
    b0, b1 = await reader.readexactly(2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", await reader.readexactly(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", await reader.readexactly(8))[0]
    mask = await reader.readexactly(4) if b1 & 0x80 else None
    data = await reader.readexactly(n)
    if mask:
        data = bytes(c ^ mask[i % 4] for i, c in enumerate(data))
    return b0 & 0x80, b0 & 0x0F, data


def ws_send(writer, opcode, data):
    n = len(data)
    head = bytes([0x80 | opcode]) + (bytes([n]) if n < 126 else b"\x7e" + struct.pack("!H", n) if n < 65536
                                     else b"\x7f" + struct.pack("!Q", n))
    writer.write(head + data)


async def websocket(reader, writer, headers):
    key = headers.get("sec-websocket-key", "").encode()
    if headers.get("upgrade", "").lower() != "websocket" or not key:
        response(writer, 400, b"not a websocket handshake", close=True)
        return
    accept = base64.b64encode(hashlib.sha1(key + WS_GUID).digest())
    writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
    ws_send(writer, 0x1, f"hello {DEPLOYMENT}".encode())
    await writer.drain()
    message = b""
    while True:
        fin, op, data = await ws_frame(reader)
        if op == 0x8:  # close: the same code (and reason) back, then end
            ws_send(writer, 0x8, data[:125])
            await writer.drain()
            return
        if op == 0x9:
            ws_send(writer, 0xA, data)
        elif op in (0x1, 0x0):
            message += data
            if fin:
                ws_send(writer, 0x1, message)
                message = b""
        await writer.drain()


async def serve(reader, writer):
    global count, last_at
    me = asyncio.current_task()
    conns[me] = "idle"
    try:
        while not draining:
            method, target, headers = await read_head(reader)
            conns[me] = "busy"
            path, _, query = target.partition("?")
            if method == "GET" and path == "/":
                count += 1
                last_at = time.time()
            close = draining or headers.get("connection", "").lower() == "close"
            if path == "/ws":
                await websocket(reader, writer, headers)
                return
            if method == "GET" and path in ("/", "/health"):
                response(writer, 200, DEPLOYMENT.encode(), close=close)
            elif method == "GET" and path == "/_count":
                response(writer, 200, json.dumps({"deployment": DEPLOYMENT, "requests": count, "pid": os.getpid()}).encode(),
                         "application/json", close=close)
            elif method == "GET" and path == "/slow":
                await asyncio.sleep(3)
                response(writer, 200, DEPLOYMENT.encode(), close=close or draining)
            elif method == "GET" and path == "/sse":
                secs = float(dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("secs", "5"))
                await sse(writer, secs)
                return
            elif method == "POST" and path == "/echo":
                h = hashlib.sha256()
                n = await read_body(reader, headers, h.update)
                body = json.dumps({"sha256": h.hexdigest(), "length": n, "deployment": DEPLOYMENT}).encode()
                response(writer, 200, body, "application/json", close=close or draining)
            else:
                await read_body(reader, headers, lambda _: None)
                response(writer, 404, b"not found", close=close)
            await writer.drain()
            conns[me] = "idle"
            if close:
                return
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError, ValueError, asyncio.LimitOverrunError):
        pass
    finally:
        conns.pop(me, None)
        writer.close()


async def main():
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = await asyncio.start_server(serve, os.environ.get("HOST", "127.0.0.1"), int(os.environ["PORT"]),
                                        backlog=1024)
    log(f"zd-start deployment={DEPLOYMENT} pid={os.getpid()} port={os.environ['PORT']}")
    await stop.wait()
    global draining
    draining = True
    log(f"zd-stats deployment={DEPLOYMENT} root_requests={count} last_root_at={last_at:.6f} open={len(conns)}")
    server.close()
    for task, state in list(conns.items()):
        if state == "idle":  # waiting for a next request that will not come: close it
            task.cancel()
    if conns:
        await asyncio.wait(list(conns), timeout=120)
    log(f"zd-exit deployment={DEPLOYMENT} root_requests={count} last_root_at={last_at:.6f}")


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
