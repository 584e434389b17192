// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title DstackMembershipNFT
/// @notice Membership of a dstack cluster as an ERC-721: one token is one
/// authorized peer key.  The owner mints and revokes (burns) tokens, names the
/// trusted dstack KMS root(s) and the allowed app id(s), and may open
/// enrollment: then a key that proves with the dstack KMS signature chain that
/// it was derived for an allowed app mints its own token, up to a cap.
/// @dev Tokens are bound to the key they were minted to: they cannot be
/// transferred, and an address holds at most one.  Token ids start at 1 and
/// are never reused.
abstract contract DstackMembershipNFT is ERC721, Ownable {
    /// @dev One storage slot per member key.  The peer layer keeps its
    /// per-key fields here too, so that a heartbeat reads and writes one slot
    /// and a registration rewrites a slot the mint already paid for.
    struct Member {
        uint32 tokenId; // 0: not a member
        uint40 lastHeartbeat; // peer layer: block time of the last registration/heartbeat
        bool registered; // peer layer: has a peer record
        uint8 networkType; // peer layer: its NetworkType
        bytes20 instanceId; // peer layer: its dstack instance id
    }

    /// @dev Prefix of the message the KMS root signs for an app key (dstack
    /// KMS): keccak256(prefix || appId(20) || appPubkeyCompressed(33)).
    bytes internal constant KMS_ISSUED_PREFIX = "dstack-kms-issued:";

    /// @dev secp256k1 group order / 2: larger s values are malleable twins.
    uint256 internal constant SECP256K1_HALF_N =
        0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    mapping(address => bool) public isKmsRoot;
    mapping(bytes20 => bool) public isAllowedApp;
    bool public openEnrollment;
    uint32 public maxMembers;
    uint32 public memberCount;
    uint32 internal _nextTokenId = 1;

    mapping(address => Member) internal _members;

    event KmsRootSet(address indexed root, bool trusted);
    event AppAllowedSet(bytes20 indexed appId, bool allowed);
    event OpenEnrollmentSet(bool open, uint32 maxMembers);
    /// @notice A key proved its app with the KMS chain and minted its token.
    event MemberEnrolled(uint256 indexed tokenId, address indexed key, bytes20 indexed appId);

    error NonTransferable();
    error AlreadyMember(address key);
    error NotMember(address key);
    error EnrollmentClosed();
    error MemberCapReached(uint32 maxMembers);
    error BadKeyLength();
    error BadSignature();
    error AppNotAllowed(bytes20 appId);
    error AppKeyMismatch(address recovered, address appKey);
    error UntrustedKms(address signer);
    error CallerNotDerivedKey(address caller, address derived);

    constructor(string memory name_, string memory symbol_, address initialOwner)
        ERC721(name_, symbol_)
        Ownable(initialOwner)
    {}

    // ---------------------------------------------------------------- owner

    function setKmsRoot(address root, bool trusted) external onlyOwner {
        isKmsRoot[root] = trusted;
        emit KmsRootSet(root, trusted);
        _membershipChanged();
    }

    function setAllowedApp(bytes20 appId, bool allowed) external onlyOwner {
        isAllowedApp[appId] = allowed;
        emit AppAllowedSet(appId, allowed);
        _membershipChanged();
    }

    /// @notice Open or close self-enrollment; `cap` bounds memberCount for
    /// enrollment (the owner's own mints are not capped).
    function setOpenEnrollment(bool open, uint32 cap) external onlyOwner {
        openEnrollment = open;
        maxMembers = cap;
        emit OpenEnrollmentSet(open, cap);
    }

    /// @notice Mint a membership token to `to`.  Returns the new token id.
    function mint(address to) external onlyOwner returns (uint256) {
        return _mintMember(to);
    }

    /// @notice Revoke (burn) a token; the peer layer drops its peer record.
    function revoke(uint256 tokenId) external onlyOwner {
        address holder = _requireOwned(tokenId);
        _beforeRevoke(tokenId, holder);
        delete _members[holder];
        memberCount -= 1;
        _burn(tokenId);
        _membershipChanged();
    }

    // ----------------------------------------------------------- enrollment

    /// @notice Open enrollment: the caller proves with the KMS chain that it
    /// is a key derived for an allowed app, and mints its own token.
    function enroll(
        bytes20 appId,
        bytes calldata derivedPublicKey,
        bytes calldata appPublicKey,
        bytes calldata appSignature,
        bytes calldata kmsSignature
    ) external returns (uint256) {
        _requireCallerProven(appId, derivedPublicKey, appPublicKey, appSignature, kmsSignature);
        return _enroll(msg.sender, appId);
    }

    // ---------------------------------------------------------------- views

    /// @notice The token held by `key`, 0 if none.
    function tokenOf(address key) public view returns (uint256) {
        return _members[key].tokenId;
    }

    /// @notice The purpose string the app key signs derived keys for.
    function keyPurpose() public pure virtual returns (string memory);

    // ------------------------------------------------------------- internal

    function _enroll(address key, bytes20 appId) internal returns (uint256 tokenId) {
        if (!openEnrollment) revert EnrollmentClosed();
        if (memberCount >= maxMembers) revert MemberCapReached(maxMembers);
        tokenId = _mintMember(key);
        emit MemberEnrolled(tokenId, key, appId);
    }

    function _mintMember(address to) internal returns (uint256 tokenId) {
        if (_members[to].tokenId != 0) revert AlreadyMember(to);
        tokenId = _nextTokenId;
        _nextTokenId = uint32(tokenId + 1);
        _members[to] = Member({tokenId: uint32(tokenId), lastHeartbeat: 0, registered: false, networkType: 0, instanceId: 0});
        memberCount += 1;
        _mint(to, tokenId);
        _membershipChanged();
    }

    /// @dev Hook: `tokenId` held by `holder` is about to be burnt.
    function _beforeRevoke(uint256 tokenId, address holder) internal virtual;

    /// @dev Hook: the membership or something liveness depends on changed.
    function _membershipChanged() internal virtual;

    /// @dev Tokens move only by mint and burn.
    function _update(address to, uint256 tokenId, address auth) internal virtual override returns (address) {
        address from = _ownerOf(tokenId);
        if (from != address(0) && to != address(0)) revert NonTransferable();
        return super._update(to, tokenId, auth);
    }

    /// @dev Verify the dstack key chain for the caller, exactly as the KMS and
    /// guest agent build it:
    ///   S2 = sign(appKey, keccak256(purpose ":" hex(derivedPubCompressed)))
    ///   S1 = sign(kmsRoot, keccak256("dstack-kms-issued:" appId appPubCompressed))
    /// The key recovered from S2 must be the app key named in S1's message;
    /// without that binding a replayed (appPub, S1) pair would vouch for any
    /// key.  Public keys are 64 bytes x||y; signatures 65 bytes r||s||v.
    function _requireCallerProven(
        bytes20 appId,
        bytes calldata derivedPublicKey,
        bytes calldata appPublicKey,
        bytes calldata appSignature,
        bytes calldata kmsSignature
    ) internal view {
        if (derivedPublicKey.length != 64 || appPublicKey.length != 64) revert BadKeyLength();
        if (!isAllowedApp[appId]) revert AppNotAllowed(appId);
        address derived = _pubkeyAddress(derivedPublicKey);
        if (derived != msg.sender) revert CallerNotDerivedKey(msg.sender, derived);

        bytes32 purposeDigest = keccak256(
            abi.encodePacked(keyPurpose(), ":", _hex33(_compress(derivedPublicKey)))
        );
        address appKey = _pubkeyAddress(appPublicKey);
        address recovered = _recover(purposeDigest, appSignature);
        if (recovered != appKey) revert AppKeyMismatch(recovered, appKey);

        bytes32 kmsDigest = keccak256(abi.encodePacked(KMS_ISSUED_PREFIX, appId, _compress(appPublicKey)));
        address signer = _recover(kmsDigest, kmsSignature);
        if (!isKmsRoot[signer]) revert UntrustedKms(signer);
    }

    function _pubkeyAddress(bytes calldata pub64) internal pure returns (address a) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, pub64.offset, 64)
            a := and(keccak256(p, 64), 0xffffffffffffffffffffffffffffffffffffffff)
        }
    }

    /// @dev SEC1 compressed form of x||y: (0x02 | y parity) || x, 33 bytes.
    function _compress(bytes calldata pub64) internal pure returns (bytes memory out) {
        uint256 x = uint256(bytes32(pub64[0:32]));
        uint256 y = uint256(bytes32(pub64[32:64]));
        out = abi.encodePacked(uint8(2 + (y & 1)), x);
    }

    /// @dev Lowercase hex of 33 bytes, no 0x.
    function _hex33(bytes memory b) internal pure returns (bytes memory out) {
        out = new bytes(66);
        assembly ("memory-safe") {
            let src := add(b, 32)
            let dst := add(out, 32)
            for { let i := 0 } lt(i, 33) { i := add(i, 1) } {
                let c := byte(0, mload(add(src, i)))
                let hi := shr(4, c)
                let lo := and(c, 15)
                mstore8(add(dst, mul(i, 2)), add(hi, add(48, mul(gt(hi, 9), 39))))
                mstore8(add(dst, add(mul(i, 2), 1)), add(lo, add(48, mul(gt(lo, 9), 39))))
            }
        }
    }

    /// @dev ecrecover of r||s||v with v in {0,1,27,28}; rejects high s and
    /// failed recoveries.
    function _recover(bytes32 digest, bytes calldata sig) internal pure returns (address signer) {
        if (sig.length != 65) revert BadSignature();
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 v = uint8(sig[64]);
        if (v < 27) v += 27;
        if ((v != 27 && v != 28) || uint256(s) > SECP256K1_HALF_N) revert BadSignature();
        signer = ecrecover(digest, v, r, s);
        if (signer == address(0)) revert BadSignature();
    }
}
