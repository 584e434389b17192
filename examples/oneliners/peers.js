#!/usr/bin/env node
// the peers, from Node: count, then each connection string
const p = require("fs").readFileSync((process.env.P2P_DIR || "/p2p") + "/peers", "utf8").split("\n").filter(Boolean); console.log([`${p.length} peers:`, ...p].join(" "));
