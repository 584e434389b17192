#!/usr/bin/env bash
# the peers, from a shell: count, then each connection string
mapfile -t p < "${P2P_DIR:-/p2p}/peers"; echo "${#p[@]} peers:" "${p[@]}"
