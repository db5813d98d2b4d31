"""Product pictures: the uploaded original and its WebP renditions, made once, on upload.

A rendition's name follows from the original's (`products/x.jpg` → `products/renditions/x-800.webp`),
so pages build every URL, srcset and size from the product row alone: no file is opened and no
query is made while a page renders. Originals are never served to shoppers.
"""

import io
import secrets
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.text import slugify
from PIL import Image, ImageOps, UnidentifiedImageError

from apps.catalog.models import Product
from apps.catalog.selectors import invalidate_product_cache
from apps.core.errors import NotFound, ValidationError
from apps.core.transactions import after_commit

# Widths of the renditions, smallest first; the largest is the main one (detail page, API, Open Graph).
RENDITION_WIDTHS = (400, 800)
MAIN_WIDTH = RENDITION_WIDTHS[-1]
WEBP_QUALITY = 80
UPLOAD_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}


@dataclass(frozen=True)
class Picture:
    """What one <img> needs: the main rendition, the srcset of every rendition, its size."""

    src: str
    srcset: str
    width: int | None
    height: int | None


def rendition_name(image_name: str, width: int) -> str:
    path = PurePosixPath(image_name)
    return str(path.parent / "renditions" / f"{path.stem}-{width}.webp")


def _rendition_size(width: int, height: int, target: int) -> tuple[int, int]:
    """Renditions are never upscaled: a picture narrower than `target` keeps its size."""
    if width <= target:
        return width, height
    return target, max(1, round(height * target / width))


def picture_of(product) -> Picture | None:
    """The product's picture: its uploaded image's renditions, else its external image URL, else None."""
    if product.image:
        width, height = product.image_width, product.image_height
        urls = [(default_storage.url(rendition_name(product.image.name, w)), w) for w in RENDITION_WIDTHS]
        srcset = ", ".join(f"{url} {_rendition_size(width, height, w)[0]}w" for url, w in urls)
        main_width, main_height = _rendition_size(width, height, MAIN_WIDTH)
        return Picture(src=urls[-1][0], srcset=srcset, width=main_width, height=main_height)
    if product.image_url:
        return Picture(src=product.image_url, srcset="", width=None, height=None)
    return None


def absolute_image_url(product) -> str | None:
    """API.md's `image_url`: the absolute URL of the main rendition (or the external URL), else null."""
    picture = picture_of(product)
    if picture is None:
        return None
    if picture.src.startswith(("http://", "https://")):
        return picture.src
    return settings.SITE_URL.rstrip("/") + picture.src


def _open_upload(upload) -> Image.Image:
    try:
        upload.seek(0)
        image = Image.open(upload)
        if image.format not in UPLOAD_FORMATS:
            raise ValidationError(details={"image": ["Upload a JPEG, PNG, WebP or GIF picture."]})
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ValidationError(details={"image": ["This file is not a picture we can read."]}) from exc
    return image


def _webp(image: Image.Image, size: tuple[int, int]) -> ContentFile:
    resized = image if image.size == size else image.resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    resized.save(buffer, "WEBP", quality=WEBP_QUALITY)
    return ContentFile(buffer.getvalue())


def _delete_files(image_name: str) -> None:
    for name in (image_name, *(rendition_name(image_name, w) for w in RENDITION_WIDTHS)):
        default_storage.delete(name)


def set_product_image(*, product_id: int, upload, base_name: str = "") -> None:
    """Store `upload` (a file object) as the product's picture, with its renditions; the old files go.

    The files are written first and the row updated after, under the product's row lock so that two
    uploads cannot both keep the same old files; the old picture's files are deleted and the
    catalog cache refreshed once that commits.
    """
    image = _open_upload(upload)
    extension = UPLOAD_FORMATS[image.format]
    image = ImageOps.exif_transpose(image)
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "transparency" in image.info or image.mode in ("LA", "PA") else "RGB")
    stem = f"{slugify(base_name)[:60] or 'product'}-{secrets.token_hex(4)}"
    upload.seek(0)
    name = default_storage.save(f"products/{stem}.{extension}", ContentFile(upload.read()))
    for width in RENDITION_WIDTHS:
        default_storage.save(rendition_name(name, width), _webp(image, _rendition_size(image.width, image.height, width)))
    if not _replace_image(product_id, name=name, width=image.width, height=image.height):
        _delete_files(name)
        raise NotFound("This product does not exist.")


def remove_product_image(*, product_id: int) -> None:
    """The product goes back to no picture (or its external image URL); its files are deleted."""
    _replace_image(product_id, name="", width=None, height=None)


def _replace_image(product_id: int, *, name: str, width: int | None, height: int | None) -> bool:
    with transaction.atomic():
        previous = Product.objects.select_for_update().filter(pk=product_id).values_list("image", flat=True).first()
        if previous is None:
            return False
        Product.objects.filter(pk=product_id).update(image=name, image_width=width, image_height=height)
        if previous:
            after_commit(_delete_files, previous)
        after_commit(invalidate_product_cache, product_ids=[product_id])
    return True
