"""One image from encoded bytes to a training-size uint8 RGB array.

The per-image work of the on-disk input pipelines, as the author's scripts
do it (``imread`` in o_gan_lsun.py): decode, convert to 8-bit RGB, cut the
square centre crop, resize to the training resolution with an antialiased
bilinear filter (scipy.misc.imresize is PIL's bilinear resize, which is what
runs here). Pillow does the work: it decodes every format we accept
(tf.io.decode_image has no WebP) and releases the GIL while decoding and
resizing, so the tf.data map that calls this runs it in parallel threads.

Also the one conversion between uint8 pixels and the models' range [-1, 1].
"""

import io
import warnings

import numpy as np
from PIL import Image

# Magic numbers -> Pillow format name. WebP is "RIFF" + size + "WEBP".
_MAGIC = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"BM", "BMP"),
)
EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")  # what a folder is searched for
_16_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


# uint8 <-> the models' range: x / 127.5 - 1 and back (the author's scaling).
PIXEL_HALF = 127.5


def unit_range(x):
    """Float pixels in [0, 255] -> [-1, 1]; numpy arrays and tensors alike."""
    return x / PIXEL_HALF - 1.0


def to_float(images):
    """uint8 images -> float32 in [-1, 1], the models' input range."""
    return unit_range(np.asarray(images, np.float32))


def to_uint8(images):
    """Images in [-1, 1] (any float array) -> uint8 in [0, 255]."""
    images = np.asarray(images, np.float32)
    return np.clip(np.round((images + 1.0) * PIXEL_HALF), 0, 255).astype(np.uint8)


class BadImage(Exception):
    """Bytes that are not a complete image of a format we read."""


def sniff_format(data):
    """'JPEG', 'PNG', 'WEBP', 'BMP' from the first bytes, or None."""
    head = bytes(data[:12])
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


def crop_box(width, height, crop_max=0):
    """The author's square centre crop: side min(crop_max, h, w) (crop_max 0:
    min(h, w)), offset (size - side + 1) // 2. Returns (left, top, right, bottom)."""
    side = min(width, height) if crop_max <= 0 else min(crop_max, width, height)
    left, top = (width - side + 1) // 2, (height - side + 1) // 2
    return left, top, left + side, top + side


def to_rgb(image):
    """Any Pillow mode -> 8-bit RGB. 16-bit greyscale is scaled (65535 -> 255),
    not clipped; alpha is dropped as PIL's convert("RGB") does (the author's
    imread(mode="RGB")); palette and greyscale are expanded."""
    if image.mode == "RGB":
        return image
    if image.mode in _16_BIT_MODES:
        grey = np.asarray(image, dtype=np.uint32)
        if grey.max(initial=0) > 65535:  # a 32-bit "I" image: not 16-bit data
            raise BadImage(f"unsupported 32-bit integer image (max {grey.max()})")
        grey = ((grey + 128) // 257).astype(np.uint8)
        return Image.fromarray(np.repeat(grey[..., None], 3, axis=-1))
    with warnings.catch_warnings():  # "palette images with transparency..." is noise here
        warnings.simplefilter("ignore")
        return image.convert("RGB")


def draft_size(width, height, resolution, crop_max=0):
    """The smallest full-image size whose centre crop still covers `resolution`."""
    left, _, right, _ = crop_box(width, height, crop_max)
    scale = min(1.0, resolution / (right - left))
    return max(1, int(np.ceil(width * scale))), max(1, int(np.ceil(height * scale)))


def decode(data, draft_for=None):
    """Encoded bytes -> (loaded Pillow image in any mode, its full (w, h)).
    Raises BadImage.

    draft_for (resolution, crop_max): let libjpeg decode a JPEG at a 1/2, 1/4
    or 1/8 scale (its DCT scaling) whose crop still covers the resolution;
    None decodes at full size, as the author.
    """
    fmt = sniff_format(data)
    if fmt is None:
        raise BadImage("not a PNG, JPEG, WebP or BMP image (unknown first bytes)")
    try:
        image = Image.open(io.BytesIO(data), formats=[fmt])
        full = image.size
        if draft_for is not None and fmt == "JPEG":
            image.draft("RGB", draft_size(*full, *draft_for))
        image.load()  # decodes now: a truncated file raises here, not later
    except Exception as err:  # Pillow raises OSError, SyntaxError, ValueError, ...
        raise BadImage(f"undecodable {fmt} ({err})") from None
    return image, full


def crop_and_resize(image, resolution, crop_max=0, full_size=None):
    """Centre crop and antialiased bilinear resize -> (res, res, 3) uint8.

    full_size: the (w, h) of the image before a JPEG draft decode shrank it;
    the crop is computed there and scaled, so the crop geometry is the same.
    Returns (array, upscaled), upscaled True when the crop was smaller than
    the training resolution.
    """
    image = to_rgb(image)
    width, height = full_size or image.size
    box = crop_box(width, height, crop_max)
    upscaled = box[2] - box[0] < resolution
    if image.size != (width, height):  # a draft decode: the same crop, scaled
        # one side for both axes (rounding each edge alone can make it 1 px
        # off square, a small stretch), placed at the scaled corner
        sx, sy = image.size[0] / width, image.size[1] / height
        side = max(1, round((box[2] - box[0]) * min(sx, sy)))
        left = min(round(box[0] * sx), image.size[0] - side)
        top = min(round(box[1] * sy), image.size[1] - side)
        box = (left, top, left + side, top + side)
    # Crop first (as the author's array slicing): the resize filter then never
    # sees pixels from outside the crop.
    if box != (0, 0, *image.size):
        image = image.crop(box)
    if image.size != (resolution, resolution):
        # Pillow's resize is antialiased on reduction (a filter of support
        # scaled by the reduction), as scipy.misc.imresize(..., "bilinear").
        image = image.resize((resolution, resolution), Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.uint8), upscaled


def load(data, resolution, crop_max=0, jpeg_draft=False):
    """Encoded bytes -> ((res, res, 3) uint8, upscaled). Raises BadImage."""
    image, full = decode(data, (resolution, crop_max) if jpeg_draft else None)
    return crop_and_resize(image, resolution, crop_max, full_size=full)


def load_array(array, resolution, crop_max=0):
    """An (h, w, c) uint8 array (c = 1, 3 or 4) -> ((res, res, 3) uint8, upscaled)."""
    if array.ndim != 3 or array.shape[-1] not in (1, 3, 4) or array.dtype != np.uint8:
        raise BadImage(f"unsupported image array {array.shape} {array.dtype}")
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    return crop_and_resize(Image.fromarray(np.ascontiguousarray(array[..., :3])),
                           resolution, crop_max)
