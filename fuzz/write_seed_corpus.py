#!/usr/bin/env python3
"""Writes the fuzz targets' seed inputs: a small valid file of each kind.

    python3 fuzz/write_seed_corpus.py RFM PYTHON_WITH_TORCH

RFM (the rfm program) writes the JPEG images and the pack; PYTHON_WITH_TORCH
writes the .npy and torch.save files, as numpy and torch write them.  Seeds
are named seed-*; a fuzzing run's findings (scripts/fuzz) sit beside them as
regression-*, and both are replayed by every build's tests.
"""
import os
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
from protobuf_wire import field, varint  # noqa: E402
CORPUS = os.path.join(HERE, "corpus")


def put(target, name, data):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    with open(os.path.join(CORPUS, target, "seed-" + name), "wb") as f:
        f.write(data)


def bmp(width, height, bits, top_down=False):
    """An uncompressed BMP: 8-bit with a grey palette, 24 or 32 bits."""
    row = (width * bits // 8 + 3) & ~3
    palette = b"".join(bytes((v, v, v, 0)) for v in range(256)) if bits == 8 else b""
    offset = 14 + 40 + len(palette)
    pixels = bytearray()
    for y in range(height):
        line = bytearray((x * 37 + y * 11 + c) & 0xFF for x in range(width) for c in range(bits // 8))
        pixels += line + bytes(row - len(line))
    header = struct.pack("<2sIHHI", b"BM", offset + len(pixels), 0, 0, offset)
    info = struct.pack("<IiiHHIIiiII", 40, width, -height if top_down else height, 1, bits, 0, len(pixels), 2835, 2835,
                       0, 0)
    return header + info + palette + bytes(pixels)


def png(width, height, colour_type, channels):
    raw = b"".join(b"\0" + bytes((x * 29 + y * 7 + c) & 0xFF for x in range(width) for c in range(channels))
                   for y in range(height))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def main():
    rfm, python = sys.argv[1], sys.argv[2]
    for name, data in {"grey8.bmp": bmp(5, 3, 8), "rgb24.bmp": bmp(6, 4, 24), "rgb24-top-down.bmp": bmp(3, 2, 24, True),
                       "rgb32.bmp": bmp(4, 4, 32)}.items():
        put("bmp_decoder", name, data)
        put("image_decoder", name, data)
    put("image_decoder", "rgb.png", png(5, 4, 2, 3))
    put("image_decoder", "grey.png", png(3, 3, 0, 1))
    put("image_decoder", "rgba.png", png(2, 3, 6, 4))

    with tempfile.TemporaryDirectory() as tmp:
        # JPEG images and a pack from rfm itself: a manifest of two images.
        for i, size in enumerate([(8, 6), (5, 9)]):
            with open(os.path.join(tmp, f"{i}.bmp"), "wb") as f:
                f.write(bmp(size[0], size[1], 24))
        manifest = os.path.join(tmp, "manifest.tsv")
        with open(manifest, "w") as f:
            f.write("path\tpid\tcamid\tmodality\tsplit\n0.bmp\t1\t1\tvisible\ttrain\n1.bmp\t1\t3\tinfrared\ttrain\n")
        pack = os.path.join(tmp, "data.pack")
        subprocess.run([rfm, "pack", "--set", "data.source=MANIFEST", "--set", f"data.manifest={manifest}",
                        "--set", f"data.pack={pack}", "--set", "data.height=32", "--set", "data.width=32", "--set", "model.num_parts=2"],
                       check=True, stdout=subprocess.DEVNULL)
        with open(pack, "rb") as f:
            put("pack_index", "two-images.pack", f.read())
        subprocess.run([python, "-c", f"""
import collections, io, zipfile, numpy, torch
numpy.save({tmp!r} + '/f4.npy', numpy.arange(6, dtype='<f4').reshape(2, 3))
numpy.save({tmp!r} + '/f8-fortran.npy', numpy.asfortranarray(numpy.arange(6, dtype='<f8').reshape(3, 2)))
numpy.save({tmp!r} + '/f4-1d.npy', numpy.arange(4, dtype='<f4'))
sd = collections.OrderedDict([('conv.weight', torch.ones(2, 3)), ('bn.running_mean', torch.zeros(2))])
torch.save(sd, {tmp!r} + '/state.pth')
torch.save({{'state_dict': sd, 'epoch': 3}}, {tmp!r} + '/wrapped.pth')
with zipfile.ZipFile({tmp!r} + '/state.pth') as z:
    name = [n for n in z.namelist() if n.endswith('/data.pkl')][0]
    open({tmp!r} + '/state.pkl', 'wb').write(b'x' + z.read(name))
"""], check=True)
        for name in ["f4.npy", "f8-fortran.npy", "f4-1d.npy"]:
            with open(os.path.join(tmp, name), "rb") as f:
                put("npy_reader", name, f.read())
        for name in ["state.pth", "wrapped.pth", "state.pkl"]:
            with open(os.path.join(tmp, name), "rb") as f:
                put("state_dict_reader", name, f.read())
        # JPEGs as the synthetic dataset writes them: colour (visible) and grey (infrared).
        root = os.path.join(tmp, "synthetic")
        subprocess.run([rfm, "synthesize", "--set", f"data.root={root}", "--set", "synthetic.train_identities=2",
                        "--set", "synthetic.test_identities=2", "--set", "synthetic.images_per_camera=1",
                        "--set", "synthetic.height=32", "--set", "synthetic.width=16"], check=True,
                       stdout=subprocess.DEVNULL)
        for camera in ["cam1", "cam3"]:
            folder = os.path.join(root, camera)
            person = sorted(os.listdir(folder))[0]
            image = sorted(os.listdir(os.path.join(folder, person)))[0]
            with open(os.path.join(folder, person, image), "rb") as f:
                put("image_decoder", camera + ".jpg", f.read())

    put("manifest_reader", "manifest.tsv",
        b"path\tpid\tcamid\tmodality\tsplit\ncam1/0001/0001.jpg\t1\t1\tvisible\ttrain\n"
        b"cam3/0001/0001.jpg\t1\t3\tir\tquery  # a comment\r\n\ncam2/0002/0001.jpg\t2\t2\trgb\tgallery\n")
    put("split_files", "ids.txt", b"1,2,3,10\n")
    put("split_files", "index.txt", b"Visible/1/a.bmp 0\nThermal/1/b.bmp 0\n")
    put("tsv_table", "train-and-eval.tsv",
        b"step\tepoch\tlr\tloss\tid\ttriplet\tcenter\tmam_id\n1\t0\t0.03\t5.5\t4\t1\t0.5\t0\n2\t0\t0.03\t5.1\t3.7\t1\t0.4\t0\n"
        b"\0step\tprotocol\trank1\tmap\tminp\n2\tall-search\t10.5\t8.25\t3\n2\tindoor\t12\t9\t4\n")
    heartbeat = field(1, 2, field(1, 0, 1) + field(2, 0, 2) + field(3, 0, 17) + field(4, 2, b"forward") +
                      field(5, 1, 1.7e9) + field(8, 2, b"node7") + field(9, 0, 4242) +
                      field(10, 2, b"node7:9400"))
    status = field(3, 2, b"")
    put("control_framing", "heartbeat-and-status", b"\x03" + varint(len(heartbeat)) + heartbeat +
        varint(len(status)) + status)
    # As on the wire: a SignedMessage (body, sequence, a MAC of 32 bytes).
    signed = field(1, 2, heartbeat) + field(2, 0, 1765000000000000) + field(3, 2, bytes(range(32)))
    put("control_framing", "signed-heartbeat", b"\x07" + varint(len(signed)) + signed)


if __name__ == "__main__":
    main()
