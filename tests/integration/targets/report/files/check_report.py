"""Judge the report target's output with the standard library only.

  check_report.py html PAGE.html         the page is well-formed XML (XHTML), every inline SVG parses alone,
                                         nothing external, nothing to run; prints the page's text as JSON
  check_report.py png SHOT.png W H [RRGGBB ...]
                                         a PNG of W x H pixels, not blank (many colours), and with every colour
                                         given (the flat fills of the picture) somewhere in it; prints a summary
"""
from __future__ import annotations

import json
import struct
import sys
import xml.etree.ElementTree as ET
import zlib

SVG = "{http://www.w3.org/2000/svg}"
XHTML = "{http://www.w3.org/1999/xhtml}"


def check_html(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        page = handle.read()
    root = ET.fromstring(page)
    if root.tag != f"{XHTML}html":
        raise SystemExit(f"{path}: root element is {root.tag}, not XHTML html")
    svgs = list(root.iter(f"{SVG}svg"))
    for svg in svgs:
        ET.fromstring(ET.tostring(svg))
    external = [(e.tag, a) for e in root.iter() for a in ("src", "href", "{http://www.w3.org/1999/xlink}href") if e.get(a)]
    if external or root.find(f".//{XHTML}script") is not None:
        raise SystemExit(f"{path}: not self-contained: {external or 'a script'}")
    return {"svgs": len(svgs), "text": " ".join(" ".join(visible(root)).split())}


def visible(element: ET.Element) -> list[str]:
    """The text a reader sees, element by element: not the head's title and style, nor SVG tooltips."""
    if element.tag in (f"{XHTML}head", f"{SVG}title"):
        return []
    parts = [element.text or ""]
    for child in element:
        parts.extend(visible(child))
        parts.append(child.tail or "")
    return parts


def paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def read_png(path: str) -> tuple[int, int, int, list[bytes]]:
    """(width, height, bytes per pixel, rows) of an 8-bit RGB or RGBA PNG, unfiltered."""
    with open(path, "rb") as handle:
        data = handle.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit(f"{path}: not a PNG")
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    if header is None:
        raise SystemExit(f"{path}: no IHDR chunk")
    width, height, depth, colour, interlace = header[0], header[1], header[2], header[3], header[6]
    if depth != 8 or colour not in (2, 6) or interlace:
        raise SystemExit(f"{path}: expected 8-bit RGB(A) without interlace, got depth {depth} colour type {colour}")
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev, strict=True))
        elif kind == 3:
            for i in range(stride):
                line[i] = (line[i] + ((line[i - bpp] if i >= bpp else 0) + prev[i]) // 2) & 0xFF
        elif kind == 4:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                up_left = prev[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + paeth(left, prev[i], up_left)) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def check_png(path: str, width: int, height: int, wanted: list[str]) -> dict:
    got_w, got_h, bpp, rows = read_png(path)
    if (got_w, got_h) != (width, height):
        raise SystemExit(f"{path}: {got_w}x{got_h}, expected {width}x{height}")
    colours = set()
    for row in rows:
        colours.update(row[i:i + 3] for i in range(0, len(row), bpp))
    missing = [c for c in wanted if bytes.fromhex(c) not in colours]
    if len(colours) < 64 or missing:
        raise SystemExit(f"{path}: {len(colours)} distinct colours; colours of the picture missing: {missing}")
    return {"width": got_w, "height": got_h, "colours": len(colours), "found": wanted}


def main() -> None:
    if sys.argv[1:2] == ["html"] and len(sys.argv) == 3:
        result = check_html(sys.argv[2])
    elif sys.argv[1:2] == ["png"] and len(sys.argv) >= 5:
        result = check_png(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:])
    else:
        raise SystemExit(__doc__)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
