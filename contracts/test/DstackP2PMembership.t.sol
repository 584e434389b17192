// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {DstackKeys} from "./lib/DstackKeys.sol";
import {Wallet} from "./lib/Harness.sol";
import {DstackMembershipNFT} from "../src/DstackMembershipNFT.sol";
import {DstackP2PMembership} from "../src/DstackP2PMembership.sol";

contract DstackP2PMembershipTest is DstackKeys {
    DstackP2PMembership reg;
    uint64 constant TTL = 300;
    DstackP2PMembership.NetworkType constant TLS = DstackP2PMembership.NetworkType.TLS_GATEWAY;
    DstackP2PMembership.NetworkType constant WG = DstackP2PMembership.NetworkType.WIREGUARD;

    // The derived key vector for the simulator's instance: derived_sk from
    // HKDF-SHA256(salt "RATLS", app_sk, "dstackp2pfs/v1/eth/1691ed1b...")
    // cross-checked with Python's hmac module; the address with `cast wallet
    // address`.  The C side (TEE engineer) checks the same numbers.
    uint256 constant SIM_DERIVED_SK = 0x582acc3f56b9df907f140f6f7888e6b89f73ac4ce2932cb2cd357e27b6c1365d;
    address constant SIM_DERIVED_ADDR = 0x54C1622bf7e10c9B51C2bc3eFE5d9EC008eD1f8F;
    bytes constant SIM_DERIVED_COMPRESSED = hex"035cdeb98cd1a555e2d9ff8385485847e04ca4950763a31cc09f390cc77961a096";

    function setUp() public {
        vm.warp(1_700_000_000);
        vm.roll(100);
        reg = new DstackP2PMembership(address(this), TTL);
        reg.setKmsRoot(KMS_ROOT, true);
        reg.setAllowedApp(APP_ID, true);
    }

    function inst(uint256 i) internal pure returns (bytes20) {
        return bytes20(keccak256(abi.encodePacked("instance", i)));
    }

    function tlsUrl(uint256 i) internal pure returns (string memory) {
        return string(abi.encodePacked("https://", lowerHex(abi.encodePacked(inst(i))), "-8080.dstack.example"));
    }

    function call(Proof memory p, bytes20 id, string memory ep, DstackP2PMembership.NetworkType t, bytes32 wg)
        internal
        returns (uint256)
    {
        vm.prank(p.key);
        return reg.registerPeer(id, ep, t, wg, APP_ID, p.derivedPub, p.appPub, p.appSig, p.kmsSig);
    }

    function joinTls(uint256 i) internal returns (Proof memory p, uint256 tokenId) {
        p = agentProof(inst(i));
        reg.mint(p.key);
        tokenId = call(p, inst(i), tlsUrl(i), TLS, 0);
    }

    function joinWg(uint256 i) internal returns (Proof memory p, uint256 tokenId) {
        p = agentProof(inst(i));
        reg.mint(p.key);
        tokenId = call(p, inst(i), "10.9.0.1:51820", WG, keccak256(abi.encodePacked("wg", i)));
    }

    // ------------------------------------------------------------ vectors

    function test_fixtureVectors() public {
        Wallet memory app = vm.createWallet(APP_SK);
        assertEq(
            compressed(app),
            hex"02818494263695e8839122dbd88e281d7380622999df4e60a14befa0f2d096fc7c",
            "app pubkey != fixture README"
        );
        bytes memory s1 = KMS_SIG;
        bytes32 r;
        bytes32 s;
        assembly {
            r := mload(add(s1, 32))
            s := mload(add(s1, 64))
        }
        bytes32 digest = keccak256(abi.encodePacked("dstack-kms-issued:", APP_ID, compressed(app)));
        assertEq(ecrecover(digest, uint8(s1[64]) + 27, r, s), KMS_ROOT, "S1 does not recover to the KMS root");

        Proof memory p = agentProof(SIM_INSTANCE);
        assertEq(p.sk, SIM_DERIVED_SK, "derived sk");
        assertEq(p.key, SIM_DERIVED_ADDR, "derived address");
        assertEq(compressed(vm.createWallet(p.sk)), SIM_DERIVED_COMPRESSED, "derived pubkey");
        assertEq(
            ethPath(SIM_INSTANCE), bytes("dstackp2pfs/v1/eth/1691ed1b47506cad7d08834668691d88246f5b1f"), "path"
        );
    }

    // ------------------------------------------------------- registration

    function test_registerTls() public {
        Proof memory p = agentProof(SIM_INSTANCE);
        uint256 t = reg.mint(p.key);
        uint256 v0 = reg.membershipVersion();
        string memory ep = "https://1691ed1b47506cad7d08834668691d88246f5b1f-8080.dstack.example:443";
        vm.roll(200);
        vm.expectEmit(true, true, true, true);
        emit DstackP2PMembership.PeerRegistered(t, p.key, SIM_INSTANCE, TLS, 0, ep);
        assertEq(call(p, SIM_INSTANCE, ep, TLS, 0), t, "token id");
        assertEq(reg.membershipVersion(), v0 + 1, "version bump");
        assertEq(reg.lastChangeBlock(), 200, "change block");
        assertEq(reg.tokenOfInstance(SIM_INSTANCE), t, "instance -> token");
        assertEq(reg.tokenOf(p.key), t, "key -> token");
        assertTrue(reg.isLive(t), "live");
        assertEq(reg.getLeader(), t, "leader");
        string[] memory eps = reg.getPeerEndpoints();
        assertEq(eps.length, 1, "one endpoint");
        assertEq(eps[0], ep, "endpoint");
        assertEq(reg.instanceToEndpoint("1691ed1b47506cad7d08834668691d88246f5b1f"), ep, "string view");
        assertEq(reg.instanceToEndpoint("1691ED1B47506CAD7D08834668691D88246F5B1F"), ep, "string view, upper");
        assertEq(reg.lastHeartbeat("1691ed1b47506cad7d08834668691d88246f5b1f"), block.timestamp, "hb view");
        assertTrue(
            reg.instanceToNetworkType("1691ed1b47506cad7d08834668691d88246f5b1f") == TLS, "network type view"
        );
        vm.expectRevert(DstackP2PMembership.BadInstanceString.selector);
        reg.instanceToEndpoint("0x1691ed1b47506cad7d08834668691d88246f5b");
    }

    function test_registerWireGuardAndUpdate() public {
        (Proof memory p, uint256 t) = joinWg(1);
        assertEq(reg.tokenOfWgKey(keccak256(abi.encodePacked("wg", uint256(1)))), t, "wg -> token");
        DstackP2PMembership.PeerRecord memory r = reg.getPeer(t);
        assertEq(r.key, p.key, "record key");
        assertEq(r.endpoint, "10.9.0.1:51820", "record endpoint");
        assertTrue(r.live && r.networkType == WG, "record live wg");

        // same key, same instance: an update, the old WireGuard key is freed
        bytes32 wg2 = keccak256("wg2");
        vm.expectEmit(true, true, true, true);
        emit DstackP2PMembership.PeerUpdated(t, p.key, inst(1), WG, wg2, "[fd00::1]:51821");
        call(p, inst(1), "[fd00::1]:51821", WG, wg2);
        assertEq(reg.tokenOfWgKey(keccak256(abi.encodePacked("wg", uint256(1)))), 0, "old wg freed");
        assertEq(reg.tokenOfWgKey(wg2), t, "new wg");
        // switching to TLS frees the WireGuard key
        call(p, inst(1), tlsUrl(1), TLS, 0);
        assertEq(reg.tokenOfWgKey(wg2), 0, "wg freed by TLS switch");
    }

    function test_openEnrollment() public {
        Proof memory p = agentProof(inst(1));
        vm.expectRevert(DstackMembershipNFT.EnrollmentClosed.selector);
        call(p, inst(1), tlsUrl(1), TLS, 0);

        reg.setOpenEnrollment(true, 2);
        uint256 t = call(p, inst(1), tlsUrl(1), TLS, 0);
        assertEq(reg.ownerOf(t), p.key, "self-minted");
        Proof memory q = agentProof(inst(2));
        vm.prank(q.key);
        uint256 t2 = reg.enroll(APP_ID, q.derivedPub, q.appPub, q.appSig, q.kmsSig);
        assertEq(reg.tokenOf(q.key), t2, "enrolled");
        Proof memory x = agentProof(inst(3));
        vm.expectRevert(abi.encodeWithSelector(DstackMembershipNFT.MemberCapReached.selector, uint32(2)));
        call(x, inst(3), tlsUrl(3), TLS, 0);
    }

    function test_tokensAreSoulboundAndNeverReused() public {
        (Proof memory p, uint256 t) = joinTls(1);
        vm.prank(p.key);
        vm.expectRevert(DstackMembershipNFT.NonTransferable.selector);
        reg.transferFrom(p.key, address(0xbeef), t);
        vm.expectRevert(abi.encodeWithSelector(DstackMembershipNFT.AlreadyMember.selector, p.key));
        reg.mint(p.key);
        reg.revoke(t);
        uint256 t2 = reg.mint(p.key);
        assertTrue(t2 > t, "token ids are not reused");
        assertEq(reg.lastTokenId(), t2, "last token id");
    }

    // ------------------------------------------------- the chain, negative

    /// The attack the public prototype allows: replay the real (app key, S1)
    /// pair and sign S2 for a self-made key with a self-made "app" key.
    function test_replayAttackFails() public {
        reg.setOpenEnrollment(true, 100);
        Wallet memory attacker = vm.createWallet(uint256(keccak256("attacker derived key")));
        uint256 fakeAppSk = uint256(keccak256("attacker app key"));
        Wallet memory fakeApp = vm.createWallet(fakeAppSk);
        bytes memory s2 = sig65(fakeAppSk, purposeDigest(PURPOSE, attacker));
        bytes memory realAppPub = pub64(vm.createWallet(APP_SK));

        vm.prank(attacker.addr);
        vm.expectRevert(
            abi.encodeWithSelector(DstackMembershipNFT.AppKeyMismatch.selector, fakeApp.addr, vm.createWallet(APP_SK).addr)
        );
        reg.registerPeer(inst(9), tlsUrl(9), TLS, 0, APP_ID, pub64(attacker), realAppPub, s2, KMS_SIG);

        // Naming the self-made app key instead breaks S1.
        vm.prank(attacker.addr);
        vm.expectRevert();
        reg.registerPeer(inst(9), tlsUrl(9), TLS, 0, APP_ID, pub64(attacker), pub64(fakeApp), s2, KMS_SIG);
        vm.prank(attacker.addr);
        vm.expectRevert();
        reg.enroll(APP_ID, pub64(attacker), realAppPub, s2, KMS_SIG);
        assertEq(reg.tokenOf(attacker.addr), 0, "attacker got no token");
    }

    function test_wrongAppIdFails() public {
        Proof memory p = agentProof(inst(1));
        reg.mint(p.key);
        bytes20 other = bytes20(hex"0000000000000000000000000000000000000001");
        vm.prank(p.key);
        vm.expectRevert(abi.encodeWithSelector(DstackMembershipNFT.AppNotAllowed.selector, other));
        reg.registerPeer(inst(1), tlsUrl(1), TLS, 0, other, p.derivedPub, p.appPub, p.appSig, p.kmsSig);
        // allowed, but S1 was issued for the simulator's app id
        reg.setAllowedApp(other, true);
        vm.prank(p.key);
        vm.expectRevert();
        reg.registerPeer(inst(1), tlsUrl(1), TLS, 0, other, p.derivedPub, p.appPub, p.appSig, p.kmsSig);
        // and an app the owner stops allowing no longer registers
        reg.setAllowedApp(APP_ID, false);
        vm.expectRevert(abi.encodeWithSelector(DstackMembershipNFT.AppNotAllowed.selector, APP_ID));
        call(p, inst(1), tlsUrl(1), TLS, 0);
    }

    function test_wrongKmsRootFails() public {
        Proof memory p = agentProof(inst(1));
        reg.mint(p.key);
        reg.setKmsRoot(KMS_ROOT, false);
        reg.setKmsRoot(address(0x1234), true);
        vm.expectRevert(abi.encodeWithSelector(DstackMembershipNFT.UntrustedKms.selector, KMS_ROOT));
        call(p, inst(1), tlsUrl(1), TLS, 0);
    }

    function test_wrongPurposeFails() public {
        Proof memory p = agentProof(inst(1));
        reg.mint(p.key);
        Wallet memory d = vm.createWallet(p.sk);
        p.appSig = sig65(APP_SK, purposeDigest("dstackp2pfs/v1/other", d));
        vm.expectRevert();
        call(p, inst(1), tlsUrl(1), TLS, 0);
        // the right purpose with a wrongly formatted key (0x prefix) fails too
        p.appSig = sig65(APP_SK, keccak256(abi.encodePacked(PURPOSE, ":0x", lowerHex(compressed(d)))));
        vm.expectRevert();
        call(p, inst(1), tlsUrl(1), TLS, 0);
    }

    function test_callerNotDerivedKeyFails() public {
        Proof memory p = agentProof(inst(1));
        reg.mint(p.key);
        vm.prank(address(0xbad));
        vm.expectRevert(
            abi.encodeWithSelector(DstackMembershipNFT.CallerNotDerivedKey.selector, address(0xbad), p.key)
        );
        reg.registerPeer(inst(1), tlsUrl(1), TLS, 0, APP_ID, p.derivedPub, p.appPub, p.appSig, p.kmsSig);
    }

    function test_malformedProofFails() public {
        Proof memory p = agentProof(inst(1));
        reg.mint(p.key);
        Proof memory q = agentProof(inst(1));
        q.appSig = abi.encodePacked(q.appSig, uint8(0));
        vm.expectRevert(DstackMembershipNFT.BadSignature.selector);
        call(q, inst(1), tlsUrl(1), TLS, 0);
        // the malleable twin (n - s, flipped v) of a valid S2 is refused
        q = agentProof(inst(1));
        bytes memory sig = q.appSig;
        uint256 n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
        uint256 s;
        assembly {
            s := mload(add(sig, 64))
        }
        q.appSig = abi.encodePacked(bytes32(0), bytes32(n - s), uint8(sig[64]) ^ 1);
        for (uint256 i; i < 32; i++) q.appSig[i] = sig[i];
        vm.expectRevert(DstackMembershipNFT.BadSignature.selector);
        call(q, inst(1), tlsUrl(1), TLS, 0);
        // v as 27/28 is accepted
        q = agentProof(inst(1));
        q.appSig[64] = bytes1(uint8(q.appSig[64]) + 27);
        call(q, inst(1), tlsUrl(1), TLS, 0);
        q.derivedPub = abi.encodePacked(q.derivedPub, uint8(0));
        vm.expectRevert(DstackMembershipNFT.BadKeyLength.selector);
        call(q, inst(1), tlsUrl(1), TLS, 0);
    }

    function test_noTokenAndRevokedTokenFail() public {
        Proof memory p = agentProof(inst(1));
        vm.expectRevert(DstackMembershipNFT.EnrollmentClosed.selector);
        call(p, inst(1), tlsUrl(1), TLS, 0);

        (Proof memory q, uint256 t) = joinWg(2);
        uint256 v0 = reg.membershipVersion();
        vm.expectEmit(true, true, true, true);
        emit DstackP2PMembership.PeerRevoked(t, q.key, inst(2));
        reg.revoke(t);
        assertEq(reg.membershipVersion(), v0 + 1, "version bump on revoke");
        assertFalse(reg.isLive(t), "revoked is not live");
        assertEq(reg.getPeerEndpoints().length, 0, "no endpoints");
        assertEq(reg.getLeader(), 0, "no leader");
        assertEq(reg.tokenOfInstance(inst(2)), 0, "instance freed");
        assertEq(reg.tokenOfWgKey(keccak256(abi.encodePacked("wg", uint256(2)))), 0, "wg freed");
        vm.prank(q.key);
        vm.expectRevert(abi.encodeWithSelector(DstackP2PMembership.NotRegistered.selector, q.key));
        reg.updateHeartbeat();
        vm.expectRevert(DstackMembershipNFT.EnrollmentClosed.selector);
        call(q, inst(2), "10.9.0.1:51820", WG, keccak256("x"));
    }

    function test_instanceTakenByAnotherKeyFails() public {
        (, uint256 t1) = joinTls(1);
        Proof memory p = agentProof(inst(2));
        reg.mint(p.key);
        vm.expectRevert(abi.encodeWithSelector(DstackP2PMembership.InstanceTaken.selector, inst(1), t1));
        call(p, inst(1), tlsUrl(2), TLS, 0);
        // and a registered key cannot move to another instance
        (Proof memory q,) = joinTls(3);
        vm.expectRevert(abi.encodeWithSelector(DstackP2PMembership.KeyBoundToOtherInstance.selector, inst(3)));
        call(q, inst(4), tlsUrl(4), TLS, 0);
        vm.expectRevert(DstackP2PMembership.ZeroInstanceId.selector);
        call(p, bytes20(0), tlsUrl(2), TLS, 0);
    }

    function test_reusedWgKeyFails() public {
        (, uint256 t1) = joinWg(1);
        Proof memory p = agentProof(inst(2));
        reg.mint(p.key);
        bytes32 taken = keccak256(abi.encodePacked("wg", uint256(1)));
        vm.expectRevert(abi.encodeWithSelector(DstackP2PMembership.WgKeyTaken.selector, t1));
        call(p, inst(2), "10.9.0.2:51820", WG, taken);
        vm.expectRevert(DstackP2PMembership.BadWgKey.selector);
        call(p, inst(2), "10.9.0.2:51820", WG, 0);
        vm.expectRevert(DstackP2PMembership.BadWgKey.selector);
        call(p, inst(2), tlsUrl(2), TLS, keccak256("wg in tls mode"));
    }

    function test_endpointRules() public {
        Proof memory p = agentProof(inst(1));
        reg.mint(p.key);
        string[20] memory badTls = [
            "",
            "http://a.example",
            "https://",
            "https://a b.example",
            "https://a.example\n",
            "https://a.example\x00",
            "https://a.example/'x'",
            "https://a.example/\"x\"",
            "https://a.example/;rm",
            "https://a.example/$(id)",
            "https://a.example/`id`",
            "https://a.example/a|b",
            "https://a.example/a&b",
            "https://a.example/a>b",
            "https://a.example/a*b",
            "https://a.example/a\\b",
            "https://a.example/a,b",
            "https://a.example/a@b",
            "https://a.example/a\x7f",
            "https://a.example/\xc3\xa9"
        ];
        for (uint256 i; i < badTls.length; i++) {
            vm.expectRevert(DstackP2PMembership.BadEndpoint.selector);
            call(p, inst(1), badTls[i], TLS, 0);
        }
        bytes memory long = new bytes(254);
        for (uint256 i; i < long.length; i++) long[i] = "a";
        for (uint256 i; i < 8; i++) long[i] = bytes("https://")[i];
        vm.expectRevert(DstackP2PMembership.BadEndpoint.selector);
        call(p, inst(1), string(long), TLS, 0);
        assembly {
            mstore(long, 253)
        }
        call(p, inst(1), string(long), TLS, 0); // exactly 253 is fine

        bytes32 wg = keccak256("k");
        string[12] memory badWg = [
            "10.0.0.1",
            "10.0.0.1:",
            ":51820",
            "10.0.0.1:0",
            "10.0.0.1:65536",
            "10.0.0.1:051820",
            "10.0.0.1:5182a",
            "10.0.0.1:123456",
            "fd00::1:51820",
            "[fd00::1:51820",
            "a/b:51820",
            "https://a.example:443"
        ];
        for (uint256 i; i < badWg.length; i++) {
            vm.expectRevert(DstackP2PMembership.BadEndpoint.selector);
            call(p, inst(1), badWg[i], WG, wg);
        }
        string[4] memory goodWg = ["10.0.0.1:51820", "[fd00::1]:1", "peer-1.example:65535", "h:9"];
        for (uint256 i; i < goodWg.length; i++) {
            call(p, inst(1), goodWg[i], WG, wg);
        }
    }

    // ------------------------------------------------- liveness, leaving

    function test_heartbeatAndTTL() public {
        (Proof memory a, uint256 ta) = joinTls(1);
        (Proof memory b, uint256 tb) = joinWg(2);
        assertEq(reg.getLeader(), ta, "lowest token leads");
        vm.warp(block.timestamp + 200);
        vm.prank(b.key);
        vm.expectEmit(true, true, false, true);
        emit DstackP2PMembership.Heartbeat(tb, b.key, uint64(block.timestamp));
        reg.updateHeartbeat();
        uint256 v = reg.membershipVersion();
        vm.warp(block.timestamp + 101); // a: 301 s since registering, TTL 300
        assertFalse(reg.isLive(ta), "a expired");
        assertTrue(reg.isLive(tb), "b alive");
        assertEq(reg.getLeader(), tb, "leader moves");
        string[] memory eps = reg.getPeerEndpoints();
        assertEq(eps.length, 1, "one live");
        assertEq(eps[0], "10.9.0.1:51820", "b's endpoint");
        vm.prank(a.key);
        reg.updateHeartbeat();
        assertEq(reg.getLeader(), ta, "a is back");
        assertEq(reg.membershipVersion(), v, "heartbeats do not bump the version");
        reg.setHeartbeatTTL(50);
        vm.warp(block.timestamp + 51);
        assertEq(reg.getLeader(), 0, "both expired");
    }

    function test_deregister() public {
        (Proof memory a, uint256 ta) = joinWg(1);
        vm.expectEmit(true, true, true, true);
        emit DstackP2PMembership.PeerDeregistered(ta, a.key, inst(1));
        vm.prank(a.key);
        reg.deregisterPeer();
        assertFalse(reg.isLive(ta), "gone");
        assertEq(reg.ownerOf(ta), a.key, "token kept");
        vm.prank(a.key);
        vm.expectRevert(abi.encodeWithSelector(DstackP2PMembership.NotRegistered.selector, a.key));
        reg.deregisterPeer();
        // the instance and the WireGuard key are free for another key
        Proof memory b = agentProof(inst(2));
        reg.mint(b.key);
        call(b, inst(1), "10.9.0.3:51820", WG, keccak256(abi.encodePacked("wg", uint256(1))));
    }

    function test_pagination() public {
        uint256[] memory ids = new uint256[](5);
        for (uint256 i; i < 5; i++) {
            (, ids[i]) = joinTls(i + 1);
        }
        reg.mint(address(0x1111)); // a member that never registers
        reg.revoke(ids[2]);
        (DstackP2PMembership.PeerRecord[] memory page, uint256 next) = reg.getPeers(0, 3);
        assertEq(page.length, 2, "first page skips the revoked token");
        assertEq(page[0].tokenId, ids[0], "order");
        assertEq(page[1].tokenId, ids[1], "order");
        assertEq(next, 4, "next");
        (page, next) = reg.getPeers(next, 3);
        assertEq(page.length, 2, "second page");
        assertEq(page[1].endpoint, tlsUrl(5), "endpoint");
        assertEq(next, 0, "done");
        (page, next) = reg.getPeers(100, 3);
        assertEq(page.length + next, 0, "past the end");
    }

    function test_onlyOwner() public {
        vm.startPrank(address(0xbad));
        vm.expectRevert();
        reg.mint(address(0xbad));
        vm.expectRevert();
        reg.setKmsRoot(address(0xbad), true);
        vm.expectRevert();
        reg.setAllowedApp(bytes20(address(0xbad)), true);
        vm.expectRevert();
        reg.setHeartbeatTTL(1);
        vm.expectRevert();
        reg.setOpenEnrollment(true, 10);
        vm.stopPrank();
    }

    // -------------------------------------------------------------- fuzz

    /// Any endpoint with a byte outside the safe set is refused, in both modes.
    function testFuzz_unsafeByteRefused(uint8 pos, uint8 c) public {
        vm.assume(!_safe(c));
        (Proof memory p,) = joinTls(1);
        bytes memory ep = bytes("https://peer.example/x");
        ep[bound(pos, 0, ep.length - 1)] = bytes1(c);
        vm.expectRevert(DstackP2PMembership.BadEndpoint.selector);
        call(p, inst(1), string(ep), TLS, 0);
        bytes memory hp = bytes("peer.example:51820");
        hp[bound(pos, 0, hp.length - 1)] = bytes1(c);
        vm.expectRevert(DstackP2PMembership.BadEndpoint.selector);
        call(p, inst(1), string(hp), WG, keccak256("k"));
    }

    /// Any port 1..65535 is taken, anything bigger is refused.
    function testFuzz_port(uint32 port) public {
        (Proof memory p,) = joinTls(1);
        bytes memory ep = abi.encodePacked("10.0.0.1:", _dec(port));
        if (port == 0 || port > 65535) vm.expectRevert(DstackP2PMembership.BadEndpoint.selector);
        call(p, inst(1), string(ep), WG, keccak256("k"));
    }

    /// A signature by any key other than the app key never registers.
    function testFuzz_foreignSignerRefused(uint256 sk) public {
        sk = bound(sk, 1, 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364140);
        vm.assume(sk != APP_SK);
        Proof memory p = agentProof(inst(1));
        reg.mint(p.key);
        p.appSig = sig65(sk, purposeDigest(PURPOSE, vm.createWallet(p.sk)));
        vm.expectRevert();
        call(p, inst(1), tlsUrl(1), TLS, 0);
    }

    function _safe(uint8 c) internal pure returns (bool) {
        return (c >= 48 && c <= 58) || (c >= 65 && c <= 91) || (c >= 97 && c <= 122) || c == 45 || c == 46
            || c == 47 || c == 93 || c == 95;
    }

    function _dec(uint256 v) internal pure returns (bytes memory out) {
        if (v == 0) return "0";
        while (v > 0) {
            out = abi.encodePacked(bytes1(uint8(48 + v % 10)), out);
            v /= 10;
        }
    }
}
