"""dstackp2p: the peer-discovery SDK interface over the dstackp2pfs mount.

Standard library only.  Everything goes through the files of the mount
(dstackp2pfs(8)); inotify comes from the C library through ctypes.

    sdk = DStackP2PSDK("0xContract...", "tls")        # mount=/p2p
    await sdk.register()                              # True, or raises
    peers = await sdk.get_peers()                     # ["https://...", ...]
    await sdk.monitor_peers(lambda peers: print(peers))

The mount path is the keyword argument ``mount``, else the environment
variable DSTACKP2P_MOUNT, else /p2p.

monitor_peers(callback) delivers the current list first, then each new list
exactly once: it watches the mount root for IN_CLOSE_WRITE on ``peers`` and
skips a list equal to the one delivered last.  The callback may be a plain
function or a coroutine function.  It runs until cancelled (or the callback
raises; MountGoneError when the kernel removes the watch -- note that
unmounting a FUSE mount raises no inotify event on the kernels measured).
"""

import asyncio
import ctypes
import ctypes.util
import errno
import os
import struct

__all__ = [
    "DStackP2PSDK", "DStackP2PError", "MountMismatchError", "MountGoneError",
    "RegisterError", "NotAllowedError", "ProofRejectedError",
    "InvalidRegistrationError", "IdentityInUseError", "InsufficientFundsError",
    "ChainUnreachableError", "TransactionTimeoutError", "GuestAgentError",
    "WrongChainError", "ChainRefusedError", "REGISTER_ERRORS",
]

PEERS_FILE_MAX = 1024 * 1024    # larger is an error, never a truncation
SELF_FILE_MAX = 65536


class DStackP2PError(Exception):
    """Base class of every error this module raises."""


class MountMismatchError(DStackP2PError):
    """The mount does not serve the contract or mode asked for."""


class MountGoneError(DStackP2PError):
    """The mount went away while it was watched."""


class RegisterError(DStackP2PError, OSError):
    """A register/leave write failed; .errno, .strerror, .reason (the
    daemon's reason text from ``register``, may be empty)."""

    def __init__(self, err, reason=""):
        OSError.__init__(self, err, os.strerror(err))
        self.reason = reason

    def __str__(self):
        base = "%s (%s)" % (self.__doc__.strip().splitlines()[0],
                            errno.errorcode.get(self.errno, self.errno))
        return base + (": " + self.reason if self.reason else "")


class NotAllowedError(RegisterError):
    """Not allowed to join: no membership token and enrollment closed or full,
    app id not allowed, or the caller may not write register"""


class ProofRejectedError(RegisterError):
    """The proof was rejected: KMS root not trusted, or a signature of the
    chain does not verify"""


class InvalidRegistrationError(RegisterError):
    """The contract rejected the endpoint or the WireGuard key"""


class IdentityInUseError(RegisterError):
    """The instance id, key or WireGuard key is registered by another token"""


class InsufficientFundsError(RegisterError):
    """No funds for gas: send ETH to the address shown in self"""


class ChainUnreachableError(RegisterError):
    """No RPC endpoint answered"""


class TransactionTimeoutError(RegisterError):
    """The transaction was not mined in time"""


class GuestAgentError(RegisterError):
    """No guest agent answered, or it would not derive the keys"""


class WrongChainError(RegisterError):
    """The RPC serves another chain than chain_id"""


class ChainRefusedError(RegisterError):
    """The chain refused the transaction"""


# dstackp2pfs(8) "REGISTER ERRORS"; any other errno raises RegisterError.
REGISTER_ERRORS = {
    errno.EACCES: NotAllowedError,
    errno.EPERM: ProofRejectedError,
    errno.EINVAL: InvalidRegistrationError,
    errno.EADDRINUSE: IdentityInUseError,
    errno.ENOSPC: InsufficientFundsError,
    errno.EHOSTUNREACH: ChainUnreachableError,
    errno.ETIMEDOUT: TransactionTimeoutError,
    errno.ENODEV: GuestAgentError,
    errno.EPROTO: WrongChainError,
    errno.EIO: ChainRefusedError,
}

# <sys/inotify.h>
_IN_CLOSE_WRITE = 0x00000008
_IN_UNMOUNT = 0x00002000
_IN_IGNORED = 0x00008000
_IN_ONLYDIR = 0x01000000
_IN_CLOEXEC = os.O_CLOEXEC
_IN_NONBLOCK = os.O_NONBLOCK
_EVENT = struct.Struct("iIII")      # wd, mask, cookie, len

_libc = None


def _c():
    global _libc
    if _libc is None:
        lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6",
                          use_errno=True)
        lib.inotify_init1.argtypes = [ctypes.c_int]
        lib.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p,
                                          ctypes.c_uint32]
        _libc = lib
    return _libc


def _inotify_watch(path):
    """An inotify fd (non-blocking, close-on-exec) watching the directory
    path for IN_CLOSE_WRITE.  The caller closes it."""
    lib = _c()
    fd = lib.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
    if fd < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    if lib.inotify_add_watch(fd, os.fsencode(path),
                             _IN_CLOSE_WRITE | _IN_ONLYDIR) < 0:
        e = ctypes.get_errno()
        os.close(fd)
        raise OSError(e, os.strerror(e), path)
    return fd


def _drain(fd):
    """Read every pending event; True if `peers` was closed after writing.
    Raises MountGoneError when the watch ended."""
    changed = False
    while True:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return changed
        pos = 0
        while pos < len(data):
            if _EVENT.size > len(data) - pos:
                raise DStackP2PError("short inotify event")
            _wd, mask, _cookie, nlen = _EVENT.unpack_from(data, pos)
            pos += _EVENT.size
            if nlen > len(data) - pos:
                raise DStackP2PError("short inotify event name")
            name = data[pos:pos + nlen].rstrip(b"\0")
            pos += nlen
            if mask & (_IN_IGNORED | _IN_UNMOUNT):
                raise MountGoneError("the mount went away")
            if mask & _IN_CLOSE_WRITE and name == b"peers":
                changed = True


def _read_capped(path, cap):
    with open(path, "rb") as f:
        data = f.read(cap + 1)
    if len(data) > cap:
        raise DStackP2PError("'%s' is larger than %d bytes" % (path, cap))
    return data


def _parse_peers(data):
    text = data.decode("utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if any(not l for l in lines):
        raise DStackP2PError("empty line in peers")
    return lines


class DStackP2PSDK:
    """The SDK interface, served by a dstackp2pfs mount.

    DStackP2PSDK(nft_contract_address, mode, mount=None) checks that the
    mount's ``self`` names that contract (case-insensitive) and mode ("tls"
    or "wireguard"); raises MountMismatchError if not, OSError if the mount
    cannot be read.
    """

    def __init__(self, nft_contract_address, mode, *, mount=None):
        self.mount = mount or os.environ.get("DSTACKP2P_MOUNT") or "/p2p"
        self.contract = nft_contract_address
        self.mode = mode
        info = self.self_info()
        got_c = info.get("contract", "")
        if got_c.lower() != nft_contract_address.lower():
            raise MountMismatchError(
                "'%s' serves contract '%s', not '%s'" %
                (self.mount, got_c, nft_contract_address))
        if info.get("mode", "") != mode:
            raise MountMismatchError("'%s' serves mode '%s', not '%s'" %
                                     (self.mount, info.get("mode", ""), mode))

    def _path(self, name):
        return os.path.join(self.mount, name)

    def self_info(self):
        """The key=value lines of ``self`` as a dict."""
        text = _read_capped(self._path("self"), SELF_FILE_MAX).decode("utf-8")
        out = {}
        for line in text.splitlines():
            k, sep, v = line.partition("=")
            if sep:
                out[k] = v
        return out

    def _write_register(self, word):
        try:
            fd = os.open(self._path("register"), os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.write(fd, word)
            finally:
                os.close(fd)
        except OSError as e:
            reason = ""
            try:
                text = _read_capped(self._path("register"), SELF_FILE_MAX)
                for line in text.decode("utf-8", "replace").splitlines():
                    if line.startswith("reason="):
                        reason = line[len("reason="):]
            except OSError:
                pass
            raise REGISTER_ERRORS.get(e.errno, RegisterError)(e.errno, reason) from e
        return True

    async def register(self):
        """Join the cluster.  Returns True once the daemon confirms it;
        raises a RegisterError subclass (see REGISTER_ERRORS) otherwise."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self._write_register,
                                          b"register\n")

    async def leave(self):
        """Leave the cluster.  True, or raises like register()."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self._write_register,
                                          b"leave\n")

    def get_peers_sync(self):
        """The current peers: a list of connection strings."""
        return _parse_peers(_read_capped(self._path("peers"), PEERS_FILE_MAX))

    async def get_peers(self):
        """The current peers: a list of connection strings (URLs in tls
        mode, mesh IPs in wireguard mode), ordered by token id."""
        return self.get_peers_sync()

    async def monitor_peers(self, callback):
        """Call callback(peers) with the current list, then once per change.
        Runs until cancelled; see the module docstring."""
        loop = asyncio.get_running_loop()
        fd = _inotify_watch(self.mount)     # before the first read
        ready = asyncio.Event()
        loop.add_reader(fd, ready.set)
        last = None
        changed = True
        try:
            while True:
                if changed:
                    peers = self.get_peers_sync()
                    if peers != last:
                        last = peers
                        r = callback(list(peers))
                        if asyncio.iscoroutine(r):
                            await r
                await ready.wait()
                ready.clear()
                changed = _drain(fd)
        finally:
            loop.remove_reader(fd)
            os.close(fd)
