"""An image's size from its header, before decoding: real PNGs and JPEGs (baseline, progressive, with EXIF), and
hostile ones made here: a valid 12000 x 12000 JPEG of 550 KB, a PNG whose IHDR claims 60000 x 60000."""

import io
import struct

import numpy as np
import pytest
import torch
from PIL import Image
from zoo_images.common import load_image
from zoo_images.decode import decode_batch, read_bytes
from zoo_images.header import ImageTooLarge, dimensions
from zoo_images.samples import grey_jpeg, png_claiming


def saved(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def test_dimensions_of_real_files_and_none_for_others():
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (30, 50, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x010E] = "x" * 5000  # a large APP1 segment before the frame header
    for data in (
        saved(image, "PNG"),
        saved(image, "JPEG"),
        saved(image, "JPEG", progressive=True, exif=exif.tobytes()),
        saved(image.convert("CMYK"), "JPEG"),
    ):
        assert dimensions(io.BytesIO(data)) == (50, 30)
    assert dimensions(io.BytesIO(grey_jpeg(12000, 9000))) == (12000, 9000)
    assert dimensions(io.BytesIO(png_claiming(60000, 70000))) == (60000, 70000)
    cut = (b"", b"\xff\xd8", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xd9")
    for other in (saved(image, "BMP"), saved(image, "GIF"), *cut):
        assert dimensions(io.BytesIO(other)) is None
    damaged = b"\xff\xd8" + b"\xff\xe0\x00\x00" * 3  # segment lengths below 2: the walk still ends
    assert dimensions(io.BytesIO(damaged)) is None


def test_every_decoder_refuses_a_large_header_naming_the_file_and_its_size(tmp_path):
    jpeg, png = tmp_path / "big.jpg", tmp_path / "huge.png"
    jpeg.write_bytes(grey_jpeg(12000, 12000))
    png.write_bytes(png_claiming(60000, 60000))
    for path, size in ((jpeg, "12000 x 12000"), (png, "60000 x 60000")):
        with pytest.raises(ImageTooLarge, match=rf"the image {path} is {size} \(.* pixels\), more than the 89,478,485"):
            load_image(path, 16)  # PIL: the CPU path, the probe, zoo predict
        with pytest.raises(ImageTooLarge, match=rf"the image {path} is {size}"):
            read_bytes(str(path))  # decode=device: the worker that reads the file
    small = tmp_path / "small.jpg"
    small.write_bytes(grey_jpeg(40, 24))
    assert load_image(small, 8).unique().tolist() == [128]
    # Bytes from anywhere else, decoded on the device: the batch's decoder checks them too.
    hostile = torch.frombuffer(bytearray(png.read_bytes()), dtype=torch.uint8)
    with pytest.raises(ImageTooLarge, match="60000 x 60000"):
        decode_batch([read_bytes(str(small)), hostile], 8, "cpu")


def test_a_bmp_too_large_is_refused_by_pils_header(tmp_path):
    header = saved(Image.new("RGB", (4, 4)), "BMP")
    path = tmp_path / "wide.bmp"
    # The BMP's width and height fields (bytes 18..26) claim 10000 x 10000; PIL reads them without decoding.
    path.write_bytes(header[:18] + struct.pack("<ii", 10000, 10000) + header[26:])
    with pytest.raises(ImageTooLarge, match=rf"the image {path} is 10000 x 10000"):
        read_bytes(str(path))
    with pytest.raises(ImageTooLarge, match=rf"the image {path} is 10000 x 10000"):
        load_image(path, 8)
