"""Product pictures: upload (service and admin), renditions made once, what pages and the API show, demo pictures."""

import io
import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from PIL import Image

from apps.catalog import images
from apps.catalog.models import Product
from apps.core.errors import NotFound, ValidationError
from apps.devtools.management.commands import seed_demo
from apps.devtools.product_art import DRAWINGS, draw_product
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.SITE_URL = "https://shop.example"
    return tmp_path / "media"


def _photo(width=1200, height=900, fmt="JPEG", color=(200, 40, 40)) -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, fmt)
    buffer.seek(0)
    return buffer


def _files(media: Path) -> list[str]:
    return sorted(str(path.relative_to(media)) for path in media.rglob("*") if path.is_file())


def test_upload_stores_the_original_and_two_webp_renditions_and_records_the_size(media, django_capture_on_commit_callbacks):
    product = ProductFactory(name="Desk Lamp")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        images.set_product_image(product_id=product.pk, upload=_photo(1200, 900), base_name=product.name)
    assert callbacks, "the catalog cache is refreshed after the commit"
    product.refresh_from_db()
    assert re.fullmatch(r"products/desk-lamp-[0-9a-f]{8}\.jpg", product.image.name)
    assert (product.image_width, product.image_height) == (1200, 900)
    stem = Path(product.image.name).stem
    assert _files(media) == sorted([product.image.name, f"products/renditions/{stem}-400.webp", f"products/renditions/{stem}-800.webp"])
    for width, height in ((400, 300), (800, 600)):
        with Image.open(media / f"products/renditions/{stem}-{width}.webp") as rendition:
            assert (rendition.format, rendition.size) == ("WEBP", (width, height))


def test_the_picture_gives_src_srcset_width_and_height_without_opening_a_file(media, django_assert_num_queries):
    product = ProductFactory()
    images.set_product_image(product_id=product.pk, upload=_photo(1000, 500))
    product = Product.objects.get(pk=product.pk)
    (media / product.image.name).unlink()  # pages never read the original
    with django_assert_num_queries(0):
        picture = product.picture
    stem = Path(product.image.name).stem
    assert picture.src == f"/media/products/renditions/{stem}-800.webp"
    assert picture.srcset == f"/media/products/renditions/{stem}-400.webp 400w, /media/products/renditions/{stem}-800.webp 800w"
    assert (picture.width, picture.height) == (800, 400)


def test_a_small_picture_is_never_upscaled(media):
    product = ProductFactory()
    images.set_product_image(product_id=product.pk, upload=_photo(300, 200, fmt="PNG"))
    product.refresh_from_db()
    stem = Path(product.image.name).stem
    for width in (400, 800):
        with Image.open(media / f"products/renditions/{stem}-{width}.webp") as rendition:
            assert rendition.size == (300, 200)
    assert (product.picture.width, product.picture.height) == (300, 200)
    assert product.picture.srcset.endswith("800.webp 300w")


def test_a_new_upload_replaces_the_old_files_and_clearing_removes_them(media, django_capture_on_commit_callbacks):
    product = ProductFactory()
    with django_capture_on_commit_callbacks(execute=True):
        images.set_product_image(product_id=product.pk, upload=_photo())
    first = Product.objects.get(pk=product.pk).image.name
    with django_capture_on_commit_callbacks(execute=True):
        images.set_product_image(product_id=product.pk, upload=_photo(color=(0, 0, 255)))
    second = Product.objects.get(pk=product.pk).image.name
    assert second != first and len(_files(media)) == 3 and all(Path(first).stem not in name for name in _files(media))
    with django_capture_on_commit_callbacks(execute=True):
        images.remove_product_image(product_id=product.pk)
    product.refresh_from_db()
    assert (product.image.name, product.image_width, product.image_height, product.picture) == ("", None, None, None)
    assert _files(media) == []


@pytest.mark.parametrize("content", [b"not a picture at all", b"%PDF-1.4 pretending", b""])
def test_a_file_that_is_not_a_picture_is_refused_and_nothing_is_stored(media, content):
    product = ProductFactory()
    with pytest.raises(ValidationError) as error:
        images.set_product_image(product_id=product.pk, upload=io.BytesIO(content))
    assert error.value.details == {"image": ["This file is not a picture we can read."]}
    assert not media.exists() or _files(media) == []


def test_an_unknown_product_is_not_found_and_leaves_no_files(media):
    with pytest.raises(NotFound):
        images.set_product_image(product_id=10**9, upload=_photo())
    assert _files(media) == []


def test_api_image_url_is_the_absolute_main_rendition_then_the_external_url_then_null(api_client):
    uploaded, external, bare = ProductFactory(), ProductFactory(image_url="https://img.example.com/a.jpg"), ProductFactory()
    images.set_product_image(product_id=uploaded.pk, upload=_photo())
    uploaded.refresh_from_db()
    stem = Path(uploaded.image.name).stem
    assert api_client.get(f"/api/v1/products/{uploaded.pk}").json()["image_url"] == f"https://shop.example/media/products/renditions/{stem}-800.webp"
    assert api_client.get(f"/api/v1/products/{external.pk}").json()["image_url"] == "https://img.example.com/a.jpg"
    assert api_client.get(f"/api/v1/products/{bare.pk}").json()["image_url"] is None


@pytest.fixture
def admin(db):
    user = get_user_model().objects.create_superuser(email="admin@example.com", password="admin-pass-123")
    client = Client()
    client.force_login(user)
    return client


def _admin_form(**fields) -> dict:
    return {"name": "Desk Lamp", "slug": "desk-lamp", "category": "", "price": "49.99", "description": "", "image_url": "", "is_active": "on", **fields}


def test_admin_uploads_a_picture_when_adding_a_product_and_clears_it_later(admin, media, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("lamp photo.jpg", _photo().getvalue(), content_type="image/jpeg")
    assert 'name="image"' in admin.get("/admin/catalog/product/add/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post("/admin/catalog/product/add/", _admin_form(sku="LMP-1", stock=3, image=upload))
    assert response.status_code == 302
    product = Product.objects.get(sku="LMP-1")
    assert product.image.name.startswith("products/desk-lamp-") and (product.image_width, product.image_height) == (1200, 900)
    assert len(_files(media)) == 3

    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(f"/admin/catalog/product/{product.pk}/change/", _admin_form(**{"image-clear": "on"}))
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.image.name == "" and _files(media) == []


def test_admin_refuses_a_file_that_is_not_a_picture(admin, media):
    upload = SimpleUploadedFile("lamp.jpg", b"definitely not a jpeg", content_type="image/jpeg")
    response = admin.post("/admin/catalog/product/add/", _admin_form(sku="LMP-2", stock=1, image=upload))
    assert response.status_code == 200
    assert "Upload a valid image" in response.content.decode()
    assert not Product.objects.filter(sku="LMP-2").exists()


def _img_tags(html: str) -> list[str]:
    return re.findall(r"<img [^>]*>", html)


def test_pages_show_the_picture_with_alt_size_srcset_and_lazy_loading_below_the_fold(client):
    category = CategoryFactory(slug="lamps")
    products = [ProductFactory(name=f"Lamp {n}", category=category) for n in range(3)]
    for product in products:
        images.set_product_image(product_id=product.pk, upload=_photo())
    tags = _img_tags(client.get("/products/").content.decode())
    assert len(tags) == 3
    assert all('width="800" height="600"' in tag and " 400w, " in tag and 'sizes="' in tag and 'alt="Lamp ' in tag for tag in tags)
    assert 'fetchpriority="high"' in tags[0] and all('loading="lazy"' in tag for tag in tags[1:])
    assert all('loading="lazy"' in tag for tag in _img_tags(client.get("/").content.decode()))
    detail = _img_tags(client.get(products[0].get_absolute_url()).content.decode())
    assert len(detail) == 1 and 'alt="Lamp 0"' in detail[0] and "loading" not in detail[0]


def test_a_product_without_a_picture_shows_a_labelled_placeholder_not_a_letter(client):
    product = ProductFactory(name="Zebra Lamp")
    html = client.get(product.get_absolute_url()).content.decode()
    assert 'aria-label="No picture yet"' in html and "<img" not in html


def test_every_category_has_drawings_and_the_demo_seed_gives_every_product_a_picture_once(media):
    assert set(DRAWINGS) == set(seed_demo.CATALOG)
    picture = draw_product(name="Aurora Wireless Earbuds", sku="AUD-001", category_slug="audio")
    assert picture.size == (800, 600) and len(picture.getcolors(maxcolors=1 << 20)) > 1000, "a shaded drawing, not a flat card"
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "Product pictures: 48 drawn now." in out.getvalue()
    assert not Product.objects.filter(image="").exists()
    assert len(_files(media)) == 3 * 48
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "Product pictures: 0 drawn now." in out.getvalue()
