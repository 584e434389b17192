#!/usr/bin/env python3
"""genpeers.py COUNT FIRST_TOKEN UNDERLAY PEERS_OUT CONF_OUT [MESH]

Write COUNT random peers (tokens FIRST_TOKEN..) twice: as wg-apply's peer
file ("TOKEN HEXKEY ENDPOINT" lines) and as the [Peer] sections of a wg(8)
config with the same keys, /32 allowed IPs in MESH (default 10.1.0.0/16, host
TOKEN) and endpoints UNDERLAY.a.b:port, so that both tools apply one set.
"""
import base64
import ipaddress
import os
import sys


def main():
    count, first = int(sys.argv[1]), int(sys.argv[2])
    underlay, peers_out, conf_out = sys.argv[3], sys.argv[4], sys.argv[5]
    mesh = ipaddress.ip_network(sys.argv[6] if len(sys.argv) > 6 else "10.1.0.0/16")
    with open(peers_out, "w") as p, open(conf_out, "w") as c:
        for t in range(first, first + count):
            key = os.urandom(32)
            ep = "%s.%d.%d:%d" % (underlay, t // 250 + 1, t % 250 + 1, 20000 + t % 40000)
            p.write("%d %s %s\n" % (t, key.hex(), ep))
            c.write("[Peer]\nPublicKey = %s\nAllowedIPs = %s/32\nEndpoint = %s\n"
                    "PersistentKeepalive = 25\n\n"
                    % (base64.b64encode(key).decode(), mesh.network_address + t, ep))


if __name__ == "__main__":
    main()
