#!/usr/bin/env python3
"""A userspace stand-in for `tc qdisc ... netem delay D J loss L` on a point-to-point
link, for kernels built without sch_netem (CONFIG_NET_SCH_NETEM unset, no modules).

It joins two TUN devices it creates: ROOT_IF in the caller's network namespace and
NS_IF inside network namespace NETNS. Each IPv4 packet read from one is written to the
other after a delay drawn uniformly from [D - J, D + J] ms (netem's default jitter
distribution; packets may be reordered, as with netem), or dropped with probability
L %, in both directions. Only packets between LOCAL and PEER (the link's two
addresses) cross: nothing can be routed anywhere else through it.

Usage: impair.py ROOT_IF NS_IF NETNS LOCAL PEER DELAY_MS JITTER_MS LOSS_PCT SEED
Prints "ready" once both devices exist; exits when stdin closes (its parent is gone).
"""

import ctypes
import fcntl
import heapq
import os
import random
import select
import socket
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000


def open_tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def enter_netns(name):
    libc = ctypes.CDLL(None, use_errno=True)
    with open(f"/var/run/netns/{name}", "rb") as f:
        if libc.setns(f.fileno(), CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns {name}: {os.strerror(err)}")


def main():
    root_if, ns_if, netns, local, peer = sys.argv[1:6]
    delay, jitter, loss = (float(x) for x in sys.argv[6:9])
    rng = random.Random(int(sys.argv[9]))
    link = {socket.inet_aton(local), socket.inet_aton(peer)}

    root = open_tun(root_if)
    enter_netns(netns)
    ns = open_tun(ns_if)
    other = {root: ns, ns: root}
    print("ready", flush=True)

    queue = []  # (due, order, fd, packet)
    order = 0
    stdin = sys.stdin.fileno()
    while True:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, fd, packet = heapq.heappop(queue)
            try:
                os.write(fd, packet)
            except OSError:
                pass  # the device went down: the packet is lost, as on a wire
        timeout = max(0.0, queue[0][0] - now) if queue else None
        readable, _, _ = select.select([root, ns, stdin], [], [], timeout)
        for fd in readable:
            if fd == stdin:
                if not os.read(stdin, 4096):
                    return
                continue
            packet = os.read(fd, 65536)
            # IPv4 only, and only between the link's own addresses.
            if len(packet) < 20 or packet[0] >> 4 != 4:
                continue
            if packet[12:16] not in link or packet[16:20] not in link:
                continue
            if rng.random() * 100.0 < loss:
                continue
            wait = max(0.0, rng.uniform(delay - jitter, delay + jitter)) / 1000.0
            order += 1
            heapq.heappush(queue, (time.monotonic() + wait, order, other[fd], packet))


if __name__ == "__main__":
    main()
