// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {DstackMembershipNFT} from "./DstackMembershipNFT.sol";

/// @title DstackP2PMembership
/// @notice The peer registry of a dstack cluster.  A membership token holder
/// whose key is a dstack-derived key of an allowed app registers its instance
/// id and endpoint, keeps it alive with heartbeats, and leaves by
/// deregistering; the owner's revocation removes it too.  Watchers follow the
/// events and `membershipVersion`; see contracts/README.md for the schema.
/// @dev Mesh addressing: token n is host n of the mesh network (10.0.1.n by
/// default).  Token ids are never reused, so addresses are sticky.
contract DstackP2PMembership is DstackMembershipNFT {
    enum NetworkType {
        TLS_GATEWAY,
        WIREGUARD
    }

    /// @notice What a daemon needs to render a peer and configure WireGuard.
    struct PeerRecord {
        uint256 tokenId;
        address key;
        bytes20 instanceId;
        NetworkType networkType;
        uint64 lastHeartbeat;
        bool live;
        bytes32 wgPublicKey;
        string endpoint;
    }

    /// @dev The rest of a peer's state is in its Member slot (instanceId,
    /// networkType, lastHeartbeat, registered).
    struct Peer {
        bytes32 wgPublicKey;
        string endpoint;
    }

    /// @notice GetKey purpose of peer keys; S2 signs "<purpose>:<hex pubkey>".
    string public constant PEER_KEY_PURPOSE = "dstackp2pfs/v1/peer";
    uint256 public constant ENDPOINT_MAX = 253;
    uint256 public constant PAGE_MAX = 1000;

    /// @notice Seconds after its last heartbeat that a peer stays live.
    uint64 public heartbeatTTL;
    /// @notice Bumped by every change of membership, registration or config
    /// (not by heartbeats); `lastChangeBlock` is the block of the last bump.
    uint64 public membershipVersion;
    uint64 public lastChangeBlock;

    mapping(uint256 => Peer) internal _peers;
    mapping(bytes20 => uint256) public tokenOfInstance;
    mapping(bytes32 => uint256) public tokenOfWgKey;

    event PeerRegistered(
        uint256 indexed tokenId,
        address indexed key,
        bytes20 indexed instanceId,
        NetworkType networkType,
        bytes32 wgPublicKey,
        string endpoint
    );
    event PeerUpdated(
        uint256 indexed tokenId,
        address indexed key,
        bytes20 indexed instanceId,
        NetworkType networkType,
        bytes32 wgPublicKey,
        string endpoint
    );
    event Heartbeat(uint256 indexed tokenId, address indexed key, uint64 timestamp);
    event PeerDeregistered(uint256 indexed tokenId, address indexed key, bytes20 indexed instanceId);
    event PeerRevoked(uint256 indexed tokenId, address indexed key, bytes20 indexed instanceId);
    event HeartbeatTTLSet(uint64 ttl);

    error NotRegistered(address key);
    error ZeroInstanceId();
    error InstanceTaken(bytes20 instanceId, uint256 tokenId);
    error KeyBoundToOtherInstance(bytes20 instanceId);
    error BadEndpoint();
    error BadWgKey();
    error WgKeyTaken(uint256 tokenId);
    error BadTTL();
    error BadInstanceString();

    constructor(address initialOwner, uint64 ttl)
        DstackMembershipNFT("dstack p2p membership", "DP2P", initialOwner)
    {
        if (ttl == 0) revert BadTTL();
        heartbeatTTL = ttl;
    }

    function keyPurpose() public pure override returns (string memory) {
        return PEER_KEY_PURPOSE;
    }

    // ---------------------------------------------------------------- owner

    function setHeartbeatTTL(uint64 ttl) external onlyOwner {
        if (ttl == 0) revert BadTTL();
        heartbeatTTL = ttl;
        emit HeartbeatTTLSet(ttl);
        _membershipChanged();
    }

    // ----------------------------------------------------------------- peer

    /// @notice Register (or update) the caller's peer record.  The caller must
    /// be the derived key (keccak of derivedPublicKey) proven by the dstack
    /// chain [appSignature (S2), kmsSignature (S1)] for `appId`, and hold a
    /// token or get one through open enrollment.  Returns the token id.
    function registerPeer(
        bytes20 instanceId,
        string calldata endpoint,
        NetworkType networkType,
        bytes32 wgPublicKey,
        bytes20 appId,
        bytes calldata derivedPublicKey,
        bytes calldata appPublicKey,
        bytes calldata appSignature,
        bytes calldata kmsSignature
    ) external returns (uint256 tokenId) {
        _requireCallerProven(appId, derivedPublicKey, appPublicKey, appSignature, kmsSignature);
        tokenId = _members[msg.sender].tokenId;
        if (tokenId == 0) tokenId = _enroll(msg.sender, appId);
        _register(tokenId, instanceId, endpoint, networkType, wgPublicKey);
    }

    /// @notice Keep the caller's peer live.
    function updateHeartbeat() external {
        Member storage m = _members[msg.sender];
        if (!m.registered) revert NotRegistered(msg.sender);
        m.lastHeartbeat = uint40(block.timestamp);
        emit Heartbeat(m.tokenId, msg.sender, uint64(block.timestamp));
    }

    /// @notice Leave: drop the caller's peer record (the token stays).
    function deregisterPeer() external {
        Member storage m = _members[msg.sender];
        if (!m.registered) revert NotRegistered(msg.sender);
        uint256 tokenId = m.tokenId;
        bytes20 instanceId = _dropPeer(tokenId, m);
        emit PeerDeregistered(tokenId, msg.sender, instanceId);
        _membershipChanged();
    }

    // ---------------------------------------------------------------- views

    /// @notice Registered, token held, and heartbeat + TTL >= block time.
    function isLive(uint256 tokenId) public view returns (bool) {
        address key = _ownerOf(tokenId);
        if (key == address(0)) return false;
        Member storage m = _members[key];
        return m.registered && uint256(m.lastHeartbeat) + heartbeatTTL >= block.timestamp;
    }

    /// @notice Endpoints of the live peers, ordered by token id.  Scans every
    /// token ever minted: large clusters use getPeers() pages.
    function getPeerEndpoints() external view returns (string[] memory out) {
        uint256 end = _nextTokenId;
        out = new string[](memberCount);
        uint256 n;
        for (uint256 id = 1; id < end; id++) {
            if (isLive(id)) out[n++] = _peers[id].endpoint;
        }
        assembly ("memory-safe") {
            mstore(out, n)
        }
    }

    /// @notice Full records of registered peers (live or not) with token ids
    /// in [startTokenId, startTokenId + limit), limit <= PAGE_MAX.  Returns the
    /// token id to continue from, 0 when the scan reached the last token.
    /// For a consistent re-sync call every page at one pinned block.
    function getPeers(uint256 startTokenId, uint256 limit)
        external
        view
        returns (PeerRecord[] memory records, uint256 nextTokenId)
    {
        if (limit > PAGE_MAX) limit = PAGE_MAX;
        if (startTokenId == 0) startTokenId = 1;
        uint256 end = _nextTokenId;
        uint256 stop = startTokenId + limit < end ? startTokenId + limit : end;
        records = new PeerRecord[](stop > startTokenId ? stop - startTokenId : 0);
        uint256 n;
        for (uint256 id = startTokenId; id < stop; id++) {
            address key = _ownerOf(id);
            if (key != address(0) && _members[key].registered) records[n++] = _record(id, key);
        }
        assembly ("memory-safe") {
            mstore(records, n)
        }
        nextTokenId = stop < end ? stop : 0;
    }

    /// @notice The record of one token (key zero if it does not exist).
    function getPeer(uint256 tokenId) external view returns (PeerRecord memory) {
        return _record(tokenId, _ownerOf(tokenId));
    }

    /// @notice The live peer with the lowest token id, 0 if none is live.
    function getLeader() external view returns (uint256) {
        uint256 end = _nextTokenId;
        for (uint256 id = 1; id < end; id++) {
            if (isLive(id)) return id;
        }
        return 0;
    }

    /// @notice Highest token id minted so far (ids are never reused).
    function lastTokenId() external view returns (uint256) {
        return _nextTokenId - 1;
    }

    // The specification's string-keyed views: instance id as 40 hex digits
    // (no 0x, either case).

    function instanceToEndpoint(string calldata instanceId) external view returns (string memory) {
        return _peers[tokenOfInstance[_parseInstance(instanceId)]].endpoint;
    }

    function instanceToNetworkType(string calldata instanceId) external view returns (NetworkType) {
        uint256 tokenId = tokenOfInstance[_parseInstance(instanceId)];
        if (tokenId == 0) return NetworkType.TLS_GATEWAY;
        return NetworkType(_members[_ownerOf(tokenId)].networkType);
    }

    function lastHeartbeat(string calldata instanceId) external view returns (uint256) {
        uint256 tokenId = tokenOfInstance[_parseInstance(instanceId)];
        if (tokenId == 0) return 0;
        return _members[_ownerOf(tokenId)].lastHeartbeat;
    }

    // ------------------------------------------------------------- internal

    function _register(
        uint256 tokenId,
        bytes20 instanceId,
        string calldata endpoint,
        NetworkType networkType,
        bytes32 wgPublicKey
    ) internal {
        if (instanceId == bytes20(0)) revert ZeroInstanceId();
        uint256 holder = tokenOfInstance[instanceId];
        if (holder != 0 && holder != tokenId) revert InstanceTaken(instanceId, holder);
        Member storage m = _members[msg.sender];
        Peer storage p = _peers[tokenId];
        bool update = m.registered;
        if (update && m.instanceId != instanceId) revert KeyBoundToOtherInstance(m.instanceId);

        _checkEndpoint(endpoint, networkType);
        bytes32 oldWg = p.wgPublicKey;
        if (networkType == NetworkType.WIREGUARD) {
            if (wgPublicKey == bytes32(0)) revert BadWgKey();
            uint256 wgHolder = tokenOfWgKey[wgPublicKey];
            if (wgHolder != 0 && wgHolder != tokenId) revert WgKeyTaken(wgHolder);
            if (wgHolder == 0) tokenOfWgKey[wgPublicKey] = tokenId;
        } else if (wgPublicKey != bytes32(0)) {
            revert BadWgKey();
        }
        if (oldWg != wgPublicKey) {
            if (oldWg != bytes32(0)) delete tokenOfWgKey[oldWg];
            p.wgPublicKey = wgPublicKey;
        }

        if (!update) tokenOfInstance[instanceId] = tokenId;
        p.endpoint = endpoint;
        // one write of the member slot
        Member memory mm = m;
        mm.instanceId = instanceId;
        mm.networkType = uint8(networkType);
        mm.lastHeartbeat = uint40(block.timestamp);
        mm.registered = true;
        _members[msg.sender] = mm;
        if (update) emit PeerUpdated(tokenId, msg.sender, instanceId, networkType, wgPublicKey, endpoint);
        else emit PeerRegistered(tokenId, msg.sender, instanceId, networkType, wgPublicKey, endpoint);
        _membershipChanged();
    }

    function _dropPeer(uint256 tokenId, Member storage m) internal returns (bytes20 instanceId) {
        Peer storage p = _peers[tokenId];
        instanceId = m.instanceId;
        delete tokenOfInstance[instanceId];
        if (p.wgPublicKey != bytes32(0)) delete tokenOfWgKey[p.wgPublicKey];
        delete _peers[tokenId];
        m.registered = false;
        m.lastHeartbeat = 0;
        m.networkType = 0;
        m.instanceId = 0;
    }

    function _beforeRevoke(uint256 tokenId, address holder) internal override {
        Member storage m = _members[holder];
        bytes20 instanceId;
        if (m.registered) instanceId = _dropPeer(tokenId, m);
        emit PeerRevoked(tokenId, holder, instanceId);
    }

    function _membershipChanged() internal override {
        membershipVersion += 1;
        lastChangeBlock = uint64(block.number);
    }

    function _record(uint256 tokenId, address key) internal view returns (PeerRecord memory r) {
        r.tokenId = tokenId;
        if (key == address(0)) return r;
        Member storage m = _members[key];
        r.key = key;
        if (!m.registered) return r;
        Peer storage p = _peers[tokenId];
        r.instanceId = m.instanceId;
        r.networkType = NetworkType(m.networkType);
        r.lastHeartbeat = m.lastHeartbeat;
        r.live = uint256(m.lastHeartbeat) + heartbeatTTL >= block.timestamp;
        r.wgPublicKey = p.wgPublicKey;
        r.endpoint = p.endpoint;
    }

    /// @dev Endpoint rules: 1..253 bytes of [A-Za-z0-9._:/[]-]; TLS mode an
    /// https:// URL with a non-empty rest; WireGuard mode host:port with a
    /// non-empty host (IPv6 in brackets) and a decimal port 1..65535.
    function _checkEndpoint(string calldata endpoint, NetworkType networkType) internal pure {
        bytes calldata e = bytes(endpoint);
        uint256 len = e.length;
        if (len == 0 || len > ENDPOINT_MAX) revert BadEndpoint();
        uint256 safe = _SAFE_BITS;
        for (uint256 i; i < len; i++) {
            if ((safe >> uint8(e[i])) & 1 == 0) revert BadEndpoint();
        }
        if (networkType == NetworkType.TLS_GATEWAY) {
            if (len <= 8 || bytes8(e[0:8]) != "https://") revert BadEndpoint();
        } else {
            _checkHostPort(e);
        }
    }

    // Bits 45-58 ('-' '.' '/' 0-9 ':'), 65-91 (A-Z '['), 93 (']'), 95 ('_'), 97-122 (a-z).
    uint256 private constant _SAFE_BITS =
        (((uint256(1) << 14) - 1) << 45) | (((uint256(1) << 27) - 1) << 65) | (uint256(1) << 93)
            | (uint256(1) << 95) | (((uint256(1) << 26) - 1) << 97);

    function _checkHostPort(bytes calldata e) internal pure {
        uint256 len = e.length;
        uint256 colon = len;
        while (colon > 0 && e[colon - 1] != ":") colon--;
        if (colon < 2 || colon == len || len - colon > 5) revert BadEndpoint();
        colon -= 1; // index of the last ':'
        uint256 port;
        for (uint256 i = colon + 1; i < len; i++) {
            uint8 c = uint8(e[i]);
            if (c < 48 || c > 57) revert BadEndpoint();
            port = port * 10 + (c - 48);
        }
        if (port == 0 || port > 65535 || e[colon + 1] == "0") revert BadEndpoint();
        bytes calldata host = e[0:colon];
        bool bracketed = host[0] == "[";
        for (uint256 i; i < host.length; i++) {
            bytes1 c = host[i];
            if (c == "/") revert BadEndpoint();
            if ((c == ":" || c == "[" || c == "]") && !bracketed) revert BadEndpoint();
        }
        if (bracketed && (host.length < 3 || host[host.length - 1] != "]")) revert BadEndpoint();
    }

    function _parseInstance(string calldata s) internal pure returns (bytes20 id) {
        bytes calldata b = bytes(s);
        if (b.length != 40) revert BadInstanceString();
        uint160 v;
        for (uint256 i; i < 40; i++) {
            uint8 c = uint8(b[i]);
            uint8 d;
            if (c >= 48 && c <= 57) d = c - 48;
            else if (c >= 97 && c <= 102) d = c - 87;
            else if (c >= 65 && c <= 70) d = c - 55;
            else revert BadInstanceString();
            v = (v << 4) | d;
        }
        id = bytes20(v);
    }
}
