// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Harness, Wallet} from "./Harness.sol";

/// What the dstack KMS and guest agent compute, redone in tests with the
/// official simulator's fixtures (shared/fixtures/dstack-simulator/appkeys.json,
/// from Dstack-TEE/dstack sdk/simulator/, Apache-2.0).
abstract contract DstackKeys is Harness {
    /// appkeys.json k256_key: the simulator's app secret key.
    uint256 internal constant APP_SK = 0xd6e88992cdeeee35fe70b5db61ab66cdb191fb9b6ec9313757ef162dd7214d5d;
    /// appkeys.json k256_signature: S1, the KMS root's signature of the app key.
    bytes internal constant KMS_SIG =
        hex"9e618603e72d01fedb82deff6daf2d62a572becf0059eec3f89c1ab40e1f2e594d2a283f843f34e8f39e4cc49a612496ce67223a12ac923f8efe330346dfc6c500";
    /// The simulator's /Info app_id and its KMS root (fixtures README).
    bytes20 internal constant APP_ID = bytes20(hex"5bb4ff9a3837357f19dc176407a5709c62eb6c56");
    address internal constant KMS_ROOT = 0xA7F6043C29f9cc1d9D6aCF554c53E0c6792AaEAf;
    bytes20 internal constant SIM_INSTANCE = bytes20(hex"1691ed1b47506cad7d08834668691d88246f5b1f");

    string internal constant PURPOSE = "dstackp2pfs/v1/peer";

    struct Proof {
        uint256 sk; // derived secret key (test only)
        address key;
        bytes derivedPub; // x||y
        bytes appPub; // x||y
        bytes appSig; // S2
        bytes kmsSig; // S1
    }

    function hmacSha256(bytes memory key, bytes memory data) internal pure returns (bytes32) {
        require(key.length <= 64, "hmac: long key");
        bytes memory k = new bytes(64);
        for (uint256 i; i < key.length; i++) k[i] = key[i];
        bytes memory ik = new bytes(64);
        bytes memory ok = new bytes(64);
        for (uint256 i; i < 64; i++) {
            ik[i] = k[i] ^ 0x36;
            ok[i] = k[i] ^ 0x5c;
        }
        return sha256(abi.encodePacked(ok, sha256(abi.encodePacked(ik, data))));
    }

    /// HKDF-SHA256(salt="RATLS", ikm, info), first 32 bytes (RFC 5869).
    function hkdfRatls(bytes32 ikm, bytes memory info) internal pure returns (bytes32) {
        bytes32 prk = hmacSha256("RATLS", abi.encodePacked(ikm));
        return hmacSha256(abi.encodePacked(prk), abi.encodePacked(info, uint8(1)));
    }

    function lowerHex(bytes memory b) internal pure returns (bytes memory out) {
        bytes16 digits = "0123456789abcdef";
        out = new bytes(b.length * 2);
        for (uint256 i; i < b.length; i++) {
            out[2 * i] = digits[uint8(b[i]) >> 4];
            out[2 * i + 1] = digits[uint8(b[i]) & 15];
        }
    }

    function compressed(Wallet memory w) internal pure returns (bytes memory) {
        return abi.encodePacked(uint8(2 + (w.publicKeyY & 1)), w.publicKeyX);
    }

    function pub64(Wallet memory w) internal pure returns (bytes memory) {
        return abi.encodePacked(w.publicKeyX, w.publicKeyY);
    }

    function sig65(uint256 sk, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(sk, digest);
        return abi.encodePacked(r, s, v - 27);
    }

    function ethPath(bytes20 instanceId) internal pure returns (bytes memory) {
        return abi.encodePacked("dstackp2pfs/v1/eth/", lowerHex(abi.encodePacked(instanceId)));
    }

    /// S2's digest: keccak256(purpose ":" lowercase_hex(compressed pubkey)).
    function purposeDigest(string memory purpose, Wallet memory derived) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(purpose, ":", lowerHex(compressed(derived))));
    }

    /// The agent's GetKey(path=ethPath(instanceId), purpose=PURPOSE) as a proof.
    function agentProof(bytes20 instanceId) internal returns (Proof memory p) {
        p.sk = uint256(hkdfRatls(bytes32(APP_SK), ethPath(instanceId)));
        Wallet memory d = vm.createWallet(p.sk);
        Wallet memory a = vm.createWallet(APP_SK);
        p.key = d.addr;
        p.derivedPub = pub64(d);
        p.appPub = pub64(a);
        p.appSig = sig65(APP_SK, purposeDigest(PURPOSE, d));
        p.kmsSig = KMS_SIG;
    }
}
