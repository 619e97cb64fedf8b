"""The HTML report, opened in headless Chromium (Debian's ``chromium`` package)."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib

import numpy as np
import pytest
from click.testing import CliRunner

from gradcheck.cli import main

mutants = pytest.importorskip("mutants")
CHROMIUM = "/usr/bin/chromium"


def _mutated(tmp_path):
    sub = tmp_path / "sub"
    shutil.copytree(mutants.BASES["cs231n"], sub)
    for mid in ("cs_relu_mask_wrong_side", "cs_pool_assign_not_accumulate"):
        m = next(x for x in mutants.MUTANTS if x.id == mid)
        path = sub / m.file
        path.write_text(mutants.apply(path.read_text(), m.find, m.replace))
    return sub


def _html(tmp_path):
    sub = _mutated(tmp_path)
    out = tmp_path / "report.html"
    res = CliRunner().invoke(main, ["run", str(sub), "--layer", "relu", "--layer", "maxpool",
                                    "--format", "html", "-o", str(out)])
    assert res.exit_code == 1, res.output
    return out


def test_html_is_self_contained(tmp_path):
    text = _html(tmp_path).read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert "<script" not in text and "http://" not in text.replace(
        'xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in text
    assert text.count('class="heatmap"') >= 3
    assert "mask-inverted" in text and "Smallest failing configuration" in text


def _png_pixels(data: bytes) -> np.ndarray:
    """Decode an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes) with zlib."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6)
            ch = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * ch
    img = np.zeros((h, stride), np.int64)
    prev = np.zeros(stride, np.int64)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int64)
        cur = np.zeros(stride, np.int64)
        for i in range(stride):
            a = cur[i - ch] if i >= ch else 0
            b, c = prev[i], prev[i - ch] if i >= ch else 0
            if f == 0:
                v = line[i]
            elif f == 1:
                v = line[i] + a
            elif f == 2:
                v = line[i] + b
            elif f == 3:
                v = line[i] + (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                v = line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)
            cur[i] = v & 0xFF
        img[y] = cur
        prev = cur
    return img.reshape(h, w, ch)


@pytest.mark.skipif(not os.path.exists(CHROMIUM),
                    reason="chromium is not installed (apt-get install -y chromium); "
                           "the CI script installs it")
def test_html_in_headless_chromium(tmp_path):
    page = _html(tmp_path)
    shot = tmp_path / "shot.png"
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
              "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(common + ["--dump-dom", page.as_uri()], capture_output=True,
                         text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<h1>gradcheck" in dom.stdout
    assert len(re.findall(r'<svg class="heatmap"', dom.stdout)) >= 3
    run = subprocess.run(common + [f"--screenshot={shot}", "--window-size=1280,900",
                                   page.as_uri()], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and shot.exists(), run.stderr[-2000:]
    px = _png_pixels(shot.read_bytes())
    assert px.shape[:2] == (900, 1280)
    rgb = px[:, :, :3].astype(float)
    assert rgb.std() > 10  # not blank
    # the heatmaps put saturated colours on the page (not only black text on white)
    sat = rgb.max(axis=2) - rgb.min(axis=2)
    assert (sat > 80).sum() > 200
