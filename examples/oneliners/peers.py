#!/usr/bin/env python3
# the peers, from Python: count, then each connection string
import os; p = open(os.environ.get("P2P_DIR", "/p2p") + "/peers").read().split(); print(" ".join([f"{len(p)} peers:"] + p))
