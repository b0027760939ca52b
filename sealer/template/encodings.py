"""Go's base64.StdEncoding and base32.StdEncoding decoders, with their error offsets."""

from __future__ import annotations

from sealer.template.values import to_bytes


def b64decode(s: str) -> tuple[bytes | None, int | None]:
    """base64.StdEncoding.DecodeString, with Go's error offsets."""
    src, out, si = to_bytes(s), bytearray(), 0
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    while si < len(src):
        dbuf, dlen, j = [0, 0, 0, 0], 4, 0
        err: int | None = None
        while j < 4:
            if si == len(src):
                if j == 0:
                    return bytes(out), None
                return None, si - j
            c = src[si]
            si += 1
            d = alphabet.find(bytes([c]))
            if d >= 0:
                dbuf[j] = d
                j += 1
                continue
            if c in b"\r\n":
                continue
            if c != ord("=") or j < 2:
                return None, si - 1
            if j == 2:
                while si < len(src) and src[si] in b"\r\n":
                    si += 1
                if si == len(src):
                    return None, len(src)
                if src[si] != ord("="):
                    return None, si - 1
                si += 1
            while si < len(src) and src[si] in b"\r\n":
                si += 1
            if si < len(src):
                err = si
            dlen = j
            break
        val = dbuf[0] << 18 | dbuf[1] << 12 | dbuf[2] << 6 | dbuf[3]
        out += val.to_bytes(3, "big")[: dlen - 1]
        if err is not None:
            return None, err
    return bytes(out), None


def b32decode(s: str) -> tuple[bytes | None, int | None]:
    """base32.StdEncoding.DecodeString, with Go's error offsets."""
    src = to_bytes(s).replace(b"\r", b"").replace(b"\n", b"")
    olen, out, i = len(src), bytearray(), 0
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    while i < olen:
        dbuf, dlen, j, end = [0] * 8, 8, 0, False
        while j < 8:
            if i == olen:
                return None, olen - (olen - i) - j
            c = src[i]
            i += 1
            rest = olen - i
            if c == ord("=") and j >= 2 and rest < 8:
                if rest + j < 7:
                    return None, olen
                for k in range(7 - j):
                    if rest > k and src[i + k] != ord("="):
                        return None, olen - rest + k - 1
                dlen, end = j, True
                if dlen in (1, 3, 6):
                    return None, olen - rest - 1
                break
            d = alphabet.find(bytes([c]))
            if d < 0:
                return None, olen - rest - 1
            dbuf[j] = d
            j += 1
        val = 0
        for d in dbuf:
            val = val << 5 | d
        out += val.to_bytes(5, "big")[: {8: 5, 7: 4, 5: 3, 4: 2, 2: 1}[dlen]]
        if end:
            break
    return bytes(out), None
