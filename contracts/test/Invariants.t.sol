// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {DstackKeys} from "./lib/DstackKeys.sol";
import {DstackP2PMembership} from "../src/DstackP2PMembership.sol";

/// Drives the registry with random sequences of mint, register (with
/// colliding instance ids and WireGuard keys), heartbeat, deregister, revoke
/// and time passing.  It owns the registry.
contract Handler is DstackKeys {
    uint256 internal constant KEYS = 5;
    DstackP2PMembership public reg;
    Proof[KEYS] internal proofs;
    bytes20[KEYS] public instances;
    bytes32[4] public wgKeys;
    uint256[] public revoked;

    constructor() {
        vm.warp(1_700_000_000);
        reg = new DstackP2PMembership(address(this), 300);
        reg.setKmsRoot(KMS_ROOT, true);
        reg.setAllowedApp(APP_ID, true);
        for (uint256 i; i < KEYS; i++) {
            instances[i] = bytes20(keccak256(abi.encodePacked("inv instance", i)));
            Proof memory p = agentProof(instances[i]);
            proofs[i] = p;
        }
        for (uint256 i; i < wgKeys.length; i++) wgKeys[i] = keccak256(abi.encodePacked("inv wg", i));
    }

    function revokedCount() external view returns (uint256) {
        return revoked.length;
    }

    function mint(uint256 k) external {
        address key = proofs[k % KEYS].key;
        if (reg.tokenOf(key) == 0) reg.mint(key);
    }

    function register(uint256 k, uint256 instanceSel, uint256 wgSel, bool wireguard, bool enroll) external {
        Proof memory p = proofs[k % KEYS];
        // mostly its own instance, sometimes another key's (must fail)
        bytes20 id = instances[instanceSel % 4 == 0 ? instanceSel % KEYS : k % KEYS];
        reg.setOpenEnrollment(enroll, 4);
        vm.prank(p.key);
        try reg.registerPeer(
            id,
            wireguard ? "10.0.0.1:51820" : "https://peer.example",
            wireguard ? DstackP2PMembership.NetworkType.WIREGUARD : DstackP2PMembership.NetworkType.TLS_GATEWAY,
            wireguard ? wgKeys[wgSel % wgKeys.length] : bytes32(0),
            APP_ID,
            p.derivedPub,
            p.appPub,
            p.appSig,
            p.kmsSig
        ) {} catch {}
    }

    function heartbeat(uint256 k) external {
        vm.prank(proofs[k % KEYS].key);
        try reg.updateHeartbeat() {} catch {}
    }

    function deregister(uint256 k) external {
        vm.prank(proofs[k % KEYS].key);
        try reg.deregisterPeer() {} catch {}
    }

    function revoke(uint256 k) external {
        uint256 t = reg.tokenOf(proofs[k % KEYS].key);
        if (t == 0) return;
        reg.revoke(t);
        revoked.push(t);
    }

    function pass(uint256 dt) external {
        vm.warp(block.timestamp + bound(dt, 0, 400));
    }
}

contract InvariantsTest is DstackKeys {
    Handler h;
    DstackP2PMembership reg;

    function setUp() public {
        h = new Handler();
        reg = h.reg();
    }

    function targetContracts() public view returns (address[] memory t) {
        t = new address[](1);
        t[0] = address(h);
    }

    function _registered(DstackP2PMembership.PeerRecord memory r) internal pure returns (bool) {
        return r.key != address(0) && r.instanceId != bytes20(0);
    }

    /// The live set never contains a revoked token.
    function invariant_revokedNeverLive() public view {
        uint256 n = h.revokedCount();
        for (uint256 i; i < n; i++) {
            uint256 t = h.revoked(i);
            assertFalse(reg.isLive(t), "revoked token is live");
            DstackP2PMembership.PeerRecord memory r = reg.getPeer(t);
            assertEq(r.key, address(0), "revoked token has a key");
        }
        (DstackP2PMembership.PeerRecord[] memory page,) = reg.getPeers(1, 1000);
        for (uint256 i; i < page.length; i++) {
            for (uint256 j; j < n; j++) {
                assertTrue(page[i].tokenId != h.revoked(j), "revoked token listed");
            }
        }
    }

    /// instance <-> key <-> token (and WireGuard key -> token) are one-to-one.
    function invariant_oneToOne() public view {
        uint256 last = reg.lastTokenId();
        for (uint256 t = 1; t <= last; t++) {
            DstackP2PMembership.PeerRecord memory r = reg.getPeer(t);
            if (r.key == address(0)) continue;
            assertEq(reg.tokenOf(r.key), t, "key -> token");
            if (!_registered(r)) continue;
            assertEq(reg.tokenOfInstance(r.instanceId), t, "instance -> token");
            if (r.networkType == DstackP2PMembership.NetworkType.WIREGUARD) {
                assertEq(reg.tokenOfWgKey(r.wgPublicKey), t, "wg -> token");
            } else {
                assertEq(r.wgPublicKey, bytes32(0), "tls peer with a wg key");
            }
        }
        for (uint256 i; i < 5; i++) {
            bytes20 id = h.instances(i);
            uint256 t = reg.tokenOfInstance(id);
            if (t != 0) assertEq(bytes32(reg.getPeer(t).instanceId), bytes32(id), "token -> instance");
        }
        for (uint256 i; i < 4; i++) {
            bytes32 w = h.wgKeys(i);
            uint256 t = reg.tokenOfWgKey(w);
            if (t != 0) assertEq(reg.getPeer(t).wgPublicKey, w, "token -> wg key");
        }
    }

    /// getLeader() is the smallest live token id, and getPeerEndpoints()
    /// lists exactly the live peers in token order; liveness recomputed here
    /// from the raw record fields.
    function invariant_leaderAndLiveSet() public view {
        uint256 last = reg.lastTokenId();
        uint256 leader;
        uint256 live;
        string[] memory eps = reg.getPeerEndpoints();
        for (uint256 t = 1; t <= last; t++) {
            DstackP2PMembership.PeerRecord memory r = reg.getPeer(t);
            if (!_registered(r) || uint256(r.lastHeartbeat) + reg.heartbeatTTL() < block.timestamp) continue;
            if (leader == 0) leader = t;
            assertTrue(live < eps.length, "live peer missing from endpoints");
            assertEq(eps[live], r.endpoint, "endpoint order");
            live++;
        }
        assertEq(reg.getLeader(), leader, "leader");
        assertEq(eps.length, live, "endpoint count");
    }
}
