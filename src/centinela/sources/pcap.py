"""UDP payloads out of packet captures (``plots.pcap``): classic pcap (microsecond or nanosecond, either byte
order) and pcapng, over Ethernet (with VLAN tags), Linux cooked capture (v1, v2), raw IP or BSD loopback;
IPv4 and IPv6. A capture is walked packet by packet (its records chain by length); what a packet carries is
left to the caller. Packets that are not UDP, or are IP fragments, are skipped and counted.

>>> cap = pcap_bytes([(1780310700.25, b"hello")], port=4000)
>>> packets = read_udp_payloads(cap)
>>> packets.time_s.tolist(), packets.payload(0), packets.skipped
([1780310700.25], b'hello', 0)
"""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

import numpy as np

from centinela.errors import InputError

PCAP_MAGIC_US, PCAP_MAGIC_NS = 0xA1B2C3D4, 0xA1B23C4D
PCAPNG_SECTION = 0x0A0D0D0A
LINK_NULL, LINK_ETHERNET, LINK_RAW, LINK_RAW_ALT, LINK_LINUX_SLL, LINK_IPV4, LINK_IPV6, LINK_LINUX_SLL2 = (
    0, 1, 101, 12, 113, 228, 229, 276)
ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_VLAN, ETHERTYPE_QINQ = 0x0800, 0x86DD, 0x8100, 0x88A8
IPPROTO_UDP = 17


@dataclass
class UdpPayloads:
    """The UDP payloads of a capture, concatenated in ``data``; packet k is ``data[start[k]:end[k]]``."""

    data: bytes
    start: np.ndarray
    end: np.ndarray
    time_s: np.ndarray  # capture time stamps, UTC epoch seconds
    capture_offset: np.ndarray  # where each packet's record starts in the capture file
    skipped: int = 0  # packets that were not UDP over IP, or IP fragments
    errors: list[str] = field(default_factory=list)

    def payload(self, k: int) -> bytes:
        return self.data[int(self.start[k]):int(self.end[k])]

    def __len__(self) -> int:
        return len(self.start)


def read_udp_payloads(capture: bytes, source: str = "capture") -> UdpPayloads:
    """Extract every UDP payload of a pcap or pcapng capture. Raises InputError if the file is neither, or a
    record header is cut off (with its byte offset)."""
    if len(capture) < 4:
        raise InputError(source, "too short for a packet capture")
    magic_le = struct.unpack_from("<I", capture)[0]
    if magic_le == PCAPNG_SECTION:
        packets = _pcapng_packets(capture, source)
    else:
        packets = _pcap_packets(capture, source)
    out = bytearray()
    start, end, times, offsets = [], [], [], []
    skipped = 0
    for offset, time_s, link, frame in packets:
        payload = _udp_payload(frame, link)
        if payload is None:
            skipped += 1
            continue
        start.append(len(out))
        out += payload
        end.append(len(out))
        times.append(time_s)
        offsets.append(offset)
    return UdpPayloads(bytes(out), np.array(start, np.int64), np.array(end, np.int64), np.array(times, float),
                       np.array(offsets, np.int64), skipped)


def _pcap_packets(capture: bytes, source: str):
    if len(capture) < 24:
        raise InputError(source, "byte 0: pcap file header cut off")
    for endian in ("<", ">"):
        magic = struct.unpack_from(endian + "I", capture)[0]
        if magic in (PCAP_MAGIC_US, PCAP_MAGIC_NS):
            break
    else:
        raise InputError(source, f"byte 0: not a pcap or pcapng capture (magic {capture[:4].hex()})")
    scale = 1e-9 if magic == PCAP_MAGIC_NS else 1e-6
    link = struct.unpack_from(endian + "I", capture, 20)[0] & 0xFFFF
    record = struct.Struct(endian + "IIII")
    p = 24
    while p < len(capture):
        if p + 16 > len(capture):
            raise InputError(source, f"byte {p}: packet record header cut off (truncated capture?)")
        sec, frac, caplen, _ = record.unpack_from(capture, p)
        if p + 16 + caplen > len(capture):
            raise InputError(source, f"byte {p}: packet of {caplen} bytes runs past the end of the capture")
        yield p, sec + frac * scale, link, capture[p + 16:p + 16 + caplen]
        p += 16 + caplen


def _pcapng_packets(capture: bytes, source: str):
    p = 0
    endian = "<"
    links: list[tuple[int, float]] = []  # per interface: link type, seconds per time-stamp unit
    while p < len(capture):
        if p + 12 > len(capture):
            raise InputError(source, f"byte {p}: pcapng block header cut off (truncated capture?)")
        block_type = struct.unpack_from(endian + "I", capture, p)[0]
        if block_type == PCAPNG_SECTION:
            endian = "<" if capture[p + 8:p + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            links = []
        length = struct.unpack_from(endian + "I", capture, p + 4)[0]
        if length < 12 or p + length > len(capture):
            raise InputError(source, f"byte {p}: pcapng block of {length} bytes does not fit the capture")
        body = capture[p + 8:p + length - 4]
        if block_type == 1:  # interface description
            links.append((struct.unpack_from(endian + "H", body)[0], _if_tsresol(body[8:], endian)))
        elif block_type == 6 and len(body) >= 20:  # enhanced packet
            iface, high, low, caplen = struct.unpack_from(endian + "IIII", body)
            if iface < len(links):
                link, unit = links[iface]
                yield p, ((high << 32) | low) * unit, link, body[20:20 + caplen]
        elif block_type == 3 and links and len(body) >= 4:  # simple packet: no time stamp
            yield p, float("nan"), links[0][0], body[4:]
        p += length


def _if_tsresol(options: bytes, endian: str) -> float:
    """Seconds per time-stamp unit from an interface block's options (default microseconds)."""
    q = 0
    while q + 4 <= len(options):
        code, length = struct.unpack_from(endian + "HH", options, q)
        if code == 0:
            break
        if code == 9 and length >= 1:  # if_tsresol
            v = options[q + 4]
            return 2.0 ** -(v & 0x7F) if v & 0x80 else 10.0 ** -v
        q += 4 + ((length + 3) & ~3)
    return 1e-6


def _udp_payload(frame: bytes, link: int) -> bytes | None:
    """The UDP payload of one link-layer frame, or None."""
    if link == LINK_ETHERNET:
        p, ethertype = 12, 0
        while p + 2 <= len(frame):
            ethertype = struct.unpack_from(">H", frame, p)[0]
            p += 2
            if ethertype not in (ETHERTYPE_VLAN, ETHERTYPE_QINQ):
                break
            p += 2  # the tag's control information
        ip = frame[p:]
    elif link == LINK_LINUX_SLL:
        ethertype, ip = (struct.unpack_from(">H", frame, 14)[0] if len(frame) >= 16 else 0), frame[16:]
    elif link == LINK_LINUX_SLL2:
        ethertype, ip = (struct.unpack_from(">H", frame, 0)[0] if len(frame) >= 20 else 0), frame[20:]
    elif link == LINK_NULL:
        ip, ethertype = frame[4:], 0
    elif link in (LINK_RAW, LINK_RAW_ALT, LINK_IPV4, LINK_IPV6):
        ip, ethertype = frame, 0
    else:
        return None
    if not ip:
        return None
    version = ip[0] >> 4
    if ethertype not in (0, ETHERTYPE_IPV4, ETHERTYPE_IPV6):
        return None
    if version == 4 and len(ip) >= 20:
        ihl = (ip[0] & 0x0F) * 4
        fragment = struct.unpack_from(">H", ip, 6)[0]
        if ip[9] != IPPROTO_UDP or fragment & 0x3FFF:  # more-fragments flag or a fragment offset
            return None
        udp = ip[ihl:]
    elif version == 6 and len(ip) >= 40:
        if ip[6] != IPPROTO_UDP:
            return None
        udp = ip[40:]
    else:
        return None
    if len(udp) < 8:
        return None
    length = struct.unpack_from(">H", udp, 4)[0]
    return udp[8:max(length, 8)] if 8 <= length <= len(udp) else udp[8:]


def pcap_bytes(packets: list[tuple[float, bytes]], port: int = 4000) -> bytes:
    """A classic pcap (Ethernet, IPv4, UDP 127.0.0.1 -> port) holding the given (time, payload) packets, for
    tests and for recording a live ASTERIX feed in the format real tools read."""
    out = [struct.pack("<IHHiIII", PCAP_MAGIC_US, 2, 4, 0, 0, 65535, LINK_ETHERNET)]
    for time_s, payload in packets:
        udp = struct.pack(">HHHH", port, port, 8 + len(payload), 0) + payload
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, IPPROTO_UDP, 0,
                         bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1])) + udp
        frame = b"\x00" * 12 + struct.pack(">H", ETHERTYPE_IPV4) + ip
        sec = math.floor(time_s)
        usec = round((time_s - sec) * 1e6)
        out.append(struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame)
    return b"".join(out)
