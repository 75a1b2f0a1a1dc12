# The kernel oracle's agent: one per network namespace (pod or peer), driven by JSON lines
# on stdin, one JSON answer per line on stdout.
#
#   {"cmd": "listen", "tcp": [ports], "udp": [ports], "transparent": [ports]}
#       TCP and UDP listeners on the wildcard address of both families. A listener records
#       every connection (datagram) whose first line is a probe token, with its local
#       address and, for TCP, the original destination conntrack saw (SO_ORIGINAL_DST; the
#       local address when there is no conntrack entry). `transparent` ports get
#       IP_TRANSPARENT / IPV6_TRANSPARENT, as a TPROXY proxy's listener has.
#   {"cmd": "probe", "probes": [{id, proto, family, src, sport, dst, dport, uid, gid}], "timeout": s}
#       Sends every probe at once. The socket is created under the probe's uid/gid (the
#       owner match reads the socket file's credentials, fixed at creation), bound to
#       src:sport, then connects and sends "token <id>\n" (TCP: waits for the listener's
#       "ok"). Answers each probe's client-side status.
#   {"cmd": "arrivals"}  -> everything the listeners recorded.
#   {"cmd": "quit"}
#
# Python because Node has no getsockopt: SO_ORIGINAL_DST and IP_TRANSPARENT need it.
import asyncio
import errno
import json
import os
import socket
import struct
import sys

SO_ORIGINAL_DST = 80  # SOL_IP; IP6T_SO_ORIGINAL_DST is also 80, at SOL_IPV6
IP_TRANSPARENT = 19
IPV6_TRANSPARENT = 75

arrivals = []
servers = []
udp_sockets = []


def fam(family):
    return socket.AF_INET if family == 'ipv4' else socket.AF_INET6


def original_dst(conn, family):
    try:
        if family == socket.AF_INET:
            raw = conn.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
            port, addr = struct.unpack_from('!H4s', raw, 2)
            return socket.inet_ntop(socket.AF_INET, addr), port
        raw = conn.getsockopt(socket.IPPROTO_IPV6, SO_ORIGINAL_DST, 28)
        port = struct.unpack_from('!H', raw, 2)[0]
        return socket.inet_ntop(socket.AF_INET6, raw[8:24]), port
    except OSError:
        # No conntrack entry (no NAT anywhere in this namespace): nothing was rewritten.
        name = conn.getsockname()
        return name[0], name[1]


def wildcard_socket(family, kind, port, transparent):
    s = socket.socket(family, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    if transparent:
        if family == socket.AF_INET:
            s.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)
        else:
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_TRANSPARENT, 1)
    s.bind(('0.0.0.0' if family == socket.AF_INET else '::', port))
    s.setblocking(False)
    return s


async def serve_tcp(listener, family, port):
    loop = asyncio.get_running_loop()
    while True:
        conn, peer = await loop.sock_accept(listener)
        loop.create_task(handle_tcp(conn, peer, family, port))


async def handle_tcp(conn, peer, family, port):
    loop = asyncio.get_running_loop()
    try:
        conn.setblocking(False)
        orig = original_dst(conn, family)
        local = conn.getsockname()
        data = b''
        while not data.endswith(b'\n') and len(data) < 100:
            chunk = await asyncio.wait_for(loop.sock_recv(conn, 100), 5)
            if not chunk:
                break
            data += chunk
        text = data.decode(errors='replace').strip()
        arrivals.append({'proto': 'tcp', 'port': port, 'token': text, 'local': [local[0], local[1]],
                         'orig': [orig[0], orig[1]], 'peer': [peer[0], peer[1]]})
        await loop.sock_sendall(conn, b'ok\n')
    except (OSError, asyncio.TimeoutError) as e:
        arrivals.append({'proto': 'tcp', 'port': port, 'token': '', 'error': str(e)})
    finally:
        conn.close()


def record_datagram(port, data, addr):
    arrivals.append({'proto': 'udp', 'port': port, 'token': data.decode(errors='replace').strip(),
                     'peer': [addr[0], addr[1]]})


class UdpRecorder(asyncio.DatagramProtocol):
    def __init__(self, port):
        self.port = port

    def datagram_received(self, data, addr):
        record_datagram(self.port, data, addr)


def drain_udp():
    # A datagram the kernel has queued but the event loop has not read yet still counts.
    for s, port in udp_sockets:
        while True:
            try:
                data, addr = s.recvfrom(200)
            except (BlockingIOError, InterruptedError):
                break
            record_datagram(port, data, addr[:2])


async def listen(msg):
    loop = asyncio.get_running_loop()
    transparent = set(msg.get('transparent', []))
    for port in msg.get('tcp', []):
        for family in (socket.AF_INET, socket.AF_INET6):
            s = wildcard_socket(family, socket.SOCK_STREAM, port, port in transparent)
            s.listen(512)
            servers.append(s)
            loop.create_task(serve_tcp(s, family, port))
    for port in msg.get('udp', []):
        for family in (socket.AF_INET, socket.AF_INET6):
            s = wildcard_socket(family, socket.SOCK_DGRAM, port, port in transparent)
            await loop.create_datagram_endpoint(lambda p=port: UdpRecorder(p), sock=s)
            udp_sockets.append((s, port))
    return {'ok': True}


def owned_socket(family, kind, uid, gid):
    # The owner match (xt_owner, nft meta skuid/skgid) reads the socket file's fsuid/fsgid,
    # fixed when the socket is created: create it under the probe's ids, then switch back.
    if uid is None and gid is None:
        return socket.socket(family, kind)
    os.setegid(gid if gid is not None else 0)
    os.seteuid(uid if uid is not None else 0)
    try:
        return socket.socket(family, kind)
    finally:
        os.seteuid(0)
        os.setegid(0)


async def one_probe(p, timeout):
    loop = asyncio.get_running_loop()
    family = fam(p['family'])
    kind = socket.SOCK_STREAM if p['proto'] == 'tcp' else socket.SOCK_DGRAM
    token = ('token %d\n' % p['id']).encode()
    s = owned_socket(family, kind, p.get('uid'), p.get('gid'))
    try:
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((p['src'], p['sport']))
        if kind == socket.SOCK_DGRAM:
            s.sendto(token, (p['dst'], p['dport']))
            return {'id': p['id'], 'status': 'sent'}
        try:
            await asyncio.wait_for(loop.sock_connect(s, (p['dst'], p['dport'])), timeout)
        except asyncio.TimeoutError:
            return {'id': p['id'], 'status': 'timeout'}
        except OSError as e:
            return {'id': p['id'], 'status': errno.errorcode.get(e.errno, str(e.errno))}
        await loop.sock_sendall(s, token)
        try:
            reply = await asyncio.wait_for(loop.sock_recv(s, 10), timeout)
        except asyncio.TimeoutError:
            return {'id': p['id'], 'status': 'connected-no-reply'}
        except OSError as e:
            return {'id': p['id'], 'status': 'connected-' + errno.errorcode.get(e.errno, str(e.errno))}
        return {'id': p['id'], 'status': 'acked' if reply.startswith(b'ok') else 'connected-bad-reply'}
    except OSError as e:
        return {'id': p['id'], 'status': 'error-' + errno.errorcode.get(e.errno, str(e.errno)), 'detail': str(e)}
    finally:
        s.close()


async def probe(msg):
    timeout = msg.get('timeout', 2)
    results = await asyncio.gather(*(one_probe(p, timeout) for p in msg['probes']))
    return {'results': results}


async def main():
    os.setgroups([])
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=64 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    out = sys.stdout
    out.write(json.dumps({'ready': True}) + '\n')
    out.flush()
    while True:
        line = await reader.readline()
        if not line:
            return
        msg = json.loads(line)
        cmd = msg.get('cmd')
        try:
            if cmd == 'listen':
                answer = await listen(msg)
            elif cmd == 'probe':
                answer = await probe(msg)
            elif cmd == 'arrivals':
                drain_udp()
                answer = {'arrivals': list(arrivals)}
            elif cmd == 'quit':
                out.write(json.dumps({'ok': True}) + '\n')
                out.flush()
                return
            else:
                answer = {'error': 'unknown command %r' % cmd}
        except Exception as e:  # report, do not die: the harness prints it
            answer = {'error': '%s: %s' % (type(e).__name__, e)}
        out.write(json.dumps(answer) + '\n')
        out.flush()


asyncio.run(main())
