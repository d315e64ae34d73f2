"""The benchmark's clients, standard library only: HTTP/1.1 keep-alive and new-connection load, and
the long-lived connections (slow request, SSE stream, paced 1 MiB POST, echoing WebSocket), each kept
open back to back so one of each spans every switch. All through Rhone's proxy with `Host: {slug}.localhost`."""
import asyncio, base64, hashlib, json, os, re, time

KEEPALIVE_CONNS, NEW_CONN_LOOPS = 2, 2  # per app
MIB = 1 << 20


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    if status == 101:
        return status, headers, b""
    if "chunked" in headers.get("transfer-encoding", ""):
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return status, headers, body
            body += await reader.readexactly(size)
            await reader.readexactly(2)
    if "content-length" in headers:
        return status, headers, await reader.readexactly(int(headers["content-length"]))
    return status, headers, await reader.read()


def classify(e, reused=False):
    if isinstance(e, ConnectionRefusedError):
        return "connection refused"
    if isinstance(e, ConnectionResetError):
        return "connection reset" + (" (reused keep-alive connection)" if reused else "")
    if isinstance(e, (asyncio.IncompleteReadError, BrokenPipeError)):
        return "closed before answering" + (" (reused keep-alive connection)" if reused else "")
    if isinstance(e, (asyncio.TimeoutError, TimeoutError)):
        return "timeout"
    return f"{type(e).__name__}: {e}"


class Load:
    """Every `GET /` of the load: (kind, sent at (wall clock), latency s, deployment) or a failure."""

    def __init__(self):
        self.ok = []        # (kind, app, t_sent, latency, deployment)
        self.failed = []    # (kind, app, t_sent, reason)


async def load_keepalive(port, slug, load, stop):
    req = f"GET / HTTP/1.1\r\nHost: {slug}.localhost\r\n\r\n".encode()
    reader = writer = None
    reused = False
    while not stop.is_set():
        t_sent = time.time()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                reused = False
            t_sent, t0 = time.time(), time.perf_counter()
            writer.write(req)
            status, headers, body = await asyncio.wait_for(read_response(reader), 15)
            lat = time.perf_counter() - t0
            reused = True
            if status != 200:
                load.failed.append(("keep-alive", slug, t_sent, f"HTTP {status}"))
            else:
                load.ok.append(("keep-alive", slug, t_sent, lat, body.decode()))
            if headers.get("connection", "").lower() == "close":
                writer.close()
                writer = None
        except Exception as e:  # noqa: BLE001 — every failure is counted with its reason
            load.failed.append(("keep-alive", slug, t_sent, classify(e, reused)))
            if writer is not None:
                writer.close()
            writer = None
            await asyncio.sleep(0.01)
    if writer is not None:
        writer.close()


async def load_new_connections(port, slug, load, stop):
    req = f"GET / HTTP/1.1\r\nHost: {slug}.localhost\r\nConnection: close\r\n\r\n".encode()
    while not stop.is_set():
        t_sent, t0 = time.time(), time.perf_counter()
        writer = None
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(req)
            status, _, body = await asyncio.wait_for(read_response(reader), 15)
            lat = time.perf_counter() - t0
            if status != 200:
                load.failed.append(("new-connection", slug, t_sent, f"HTTP {status}"))
            else:
                load.ok.append(("new-connection", slug, t_sent, lat, body.decode()))
        except Exception as e:  # noqa: BLE001
            load.failed.append(("new-connection", slug, t_sent, classify(e)))
            await asyncio.sleep(0.01)
        finally:
            if writer is not None:
                writer.close()


class Op:
    """One long-lived connection: kind, app, start/end (wall clock), serving deployment, how it ended."""

    def __init__(self, kind, slug):
        self.kind, self.slug, self.start, self.end = kind, slug, time.time(), None
        self.deployment, self.outcome, self.expected = None, None, False

    def done(self, outcome, expected):
        self.end, self.outcome, self.expected = time.time(), outcome, expected
        return self


async def open_http(port, slug, method, path, extra=""):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"{method} {path} HTTP/1.1\r\nHost: {slug}.localhost\r\n{extra}\r\n".encode())
    return reader, writer


async def op_slow(port, slug):
    op = Op("slow request", slug)
    writer = None
    try:
        reader, writer = await open_http(port, slug, "GET", "/slow", "Connection: close\r\n")
        status, _, body = await asyncio.wait_for(read_response(reader), 60)
        op.deployment = body.decode()
        return op.done("completed" if status == 200 else f"HTTP {status}", status == 200)
    except Exception as e:  # noqa: BLE001
        return op.done(f"error: {classify(e)}", False)
    finally:
        if writer is not None:
            writer.close()


async def op_sse(port, slug, secs=4.0):
    op = Op("SSE stream", slug)
    writer = None
    events, ended = 0, False
    try:
        reader, writer = await open_http(port, slug, "GET", f"/sse?secs={secs}",
                                         "Accept: text/event-stream\r\nConnection: close\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        status = int(head.split(b" ", 2)[1])
        if status != 200:
            return op.done(f"HTTP {status}", False)
        op.deployment = re.search(rb"x-deployment: *(\S+)", head, re.I).group(1).decode()
        buf = b""
        while not ended:  # chunked; the proxy may frame the chunks differently: split events on a blank line
            size = int((await asyncio.wait_for(reader.readuntil(b"\r\n"), 30)).split(b";")[0], 16)
            if size == 0:
                break
            buf += (await reader.readexactly(size + 2))[:-2]
            while b"\n\n" in buf:
                event, buf = buf.split(b"\n\n", 1)
                if event.startswith(b"event: end"):
                    ended = True
                elif b"data: " in event:
                    events += 1
        expected = int(secs * 10)
        if ended and events == expected:
            return op.done("completed", True)
        return op.done(f"ended after {events}/{expected} events{'' if ended else ' without its end event'}", False)
    except Exception as e:  # noqa: BLE001
        return op.done(f"error after {events} events: {classify(e)}", False)
    finally:
        if writer is not None:
            writer.close()


async def op_post(port, slug, size=MIB, pieces=16, pause=0.1):
    """A 1 MiB body sent in 16 pieces 100 ms apart, so the upload itself spans a switch."""
    op = Op("1 MiB POST", slug)
    body = os.urandom(size)
    writer = None
    try:
        reader, writer = await open_http(port, slug, "POST", "/echo",
                                         f"Content-Length: {size}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n")
        step = size // pieces
        for i in range(pieces):
            writer.write(body[i * step:(i + 1) * step if i < pieces - 1 else size])
            await writer.drain()
            await asyncio.sleep(pause)
        status, _, answer = await asyncio.wait_for(read_response(reader), 60)
        if status != 200:
            return op.done(f"HTTP {status}", False)
        a = json.loads(answer)
        op.deployment = a["deployment"]
        if a["sha256"] == hashlib.sha256(body).hexdigest() and a["length"] == size:
            return op.done("completed (sha256 and length match)", True)
        return op.done(f"body changed: length {a['length']}", False)
    except Exception as e:  # noqa: BLE001
        return op.done(f"error: {classify(e)}", False)
    finally:
        if writer is not None:
            writer.close()


def ws_frame(opcode, payload):
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | opcode]) + (bytes([0x80 | n]) if n < 126 else b"\xfe" + n.to_bytes(2, "big"))
    return head + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(payload))


async def ws_read(reader):
    b0, b1 = await reader.readexactly(2)
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(await reader.readexactly(2), "big")
    elif n == 127:
        n = int.from_bytes(await reader.readexactly(8), "big")
    return b0 & 0x0F, await reader.readexactly(n)


async def op_ws(port, slug, code, secs=4.0):
    """Echoes a message every 100 ms for `secs`, then closes with `code`, expecting it back."""
    op = Op("WebSocket", slug)
    writer = None
    echoed = 0
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        reader, writer = await open_http(port, slug, "GET", "/ws",
                                         f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                                         "Sec-WebSocket-Version: 13\r\n")
        status, headers, _ = await asyncio.wait_for(read_response(reader), 30)
        accept = base64.b64encode(hashlib.sha1(key.encode() + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest()).decode()
        if status != 101 or headers.get("sec-websocket-accept") != accept:
            return op.done(f"handshake failed: HTTP {status}", False)
        opcode, hello = await asyncio.wait_for(ws_read(reader), 30)
        op.deployment = hello.decode().removeprefix("hello ")
        deadline = time.monotonic() + secs
        i = 0
        while time.monotonic() < deadline:
            msg = f"message {i}".encode()
            writer.write(ws_frame(0x1, msg))
            opcode, data = await asyncio.wait_for(ws_read(reader), 10)
            if opcode == 0x8:
                got = int.from_bytes(data[:2], "big") if len(data) >= 2 else None
                return op.done(f"closed by the server with code {got} after {echoed} echoes", False)
            if data != msg:
                return op.done(f"echo changed after {echoed} echoes", False)
            echoed += 1
            i += 1
            await asyncio.sleep(0.1)
        writer.write(ws_frame(0x8, code.to_bytes(2, "big") + b"bye"))
        opcode, data = await asyncio.wait_for(ws_read(reader), 10)
        got = int.from_bytes(data[:2], "big") if opcode == 0x8 and len(data) >= 2 else None
        return op.done("closed with its own code, echoed back" if got == code else f"close answered with code {got}", got == code)
    except Exception as e:  # noqa: BLE001
        return op.done(f"error after {echoed} echoes: {classify(e)}", False)
    finally:
        if writer is not None:
            writer.close()


async def op_loop(make, ops, stop):
    """Back to back, so one such connection is always open, until `stop`; the last one finishes."""
    n = 0
    while not stop.is_set():
        op = await make(n)
        ops.append(op)
        n += 1
        if not op.expected:
            await asyncio.sleep(0.05)


async def under_load(port, slugs, action):
    """Runs `action()` (blocking, in a thread) with the load and the long-lived loops on every app."""
    load, ops, stop = Load(), [], asyncio.Event()
    tasks = []
    for slug in slugs:
        tasks += [asyncio.create_task(load_keepalive(port, slug, load, stop)) for _ in range(KEEPALIVE_CONNS)]
        tasks += [asyncio.create_task(load_new_connections(port, slug, load, stop)) for _ in range(NEW_CONN_LOOPS)]
        tasks += [
            asyncio.create_task(op_loop(lambda n, s=slug: op_slow(port, s), ops, stop)),
            asyncio.create_task(op_loop(lambda n, s=slug: op_sse(port, s), ops, stop)),
            asyncio.create_task(op_loop(lambda n, s=slug: op_post(port, s), ops, stop)),
            asyncio.create_task(op_loop(lambda n, s=slug: op_ws(port, s, 4000 + n % 1000), ops, stop)),
        ]
    await asyncio.sleep(1.0)  # load is flowing and one of each long-lived connection is open
    t0 = time.time()
    try:
        result = await asyncio.to_thread(action)
    finally:
        await asyncio.sleep(1.0)
        stop.set()
        await asyncio.gather(*tasks)
    return load, ops, result, time.time() - t0
