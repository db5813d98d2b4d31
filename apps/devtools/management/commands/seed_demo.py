"""Demo data for `make run`: categories, products, a staff user, a shopper with money in the wallet, coupon campaigns.

Idempotent: everything is keyed (category slug, product SKU, user e-mail, campaign name) and only
created when missing, so running it again adds nothing and leaves stock, prices and passwords as
they are. Everything is created through the services, like any other change; the two accounts
through the user manager, as `createsuperuser` does (no service creates staff, and signup's
password rules would refuse the documented demo passwords).
Each kind of data has its own small function; add new ones to `handle`.
Demo products get pictures drawn by apps.devtools.product_art (never downloaded), stored like an
upload in the admin, once: a product that already has a picture or an image URL keeps it.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from apps.catalog.images import set_product_image
from apps.catalog.models import Category, Product
from apps.catalog.services import create_category, create_product
from apps.coupons.models import Coupon
from apps.coupons.services import create_coupon
from apps.devtools.product_art import product_picture_file
from apps.wallets.models import WalletTransaction
from apps.wallets.services import charge_wallet

STAFF_EMAIL = "staff@flashcart.test"
STAFF_PASSWORD = "flashcart-staff-demo"
SHOPPER_EMAIL = "shopper@flashcart.test"
SHOPPER_PASSWORD = "flashcart-shopper-demo"
SHOPPER_STARTING_BALANCE = 250_00
# (name, discount type, value, max discount, min order amount, quantity)
CAMPAIGNS = [
    ("Welcome: $5 off", "fixed", 5_00, None, 20_00, 500),
    ("Flash sale: 15% off (up to $30)", "percent", 15, 30_00, 0, 50),
]

# category slug → (category name, SKU prefix, [(product name, price in cents, stock, description)])
CATALOG = {
    "audio": ("Audio", "AUD", [
        ("Aurora Wireless Earbuds", 7999, 120, "Noise-cancelling earbuds with 30 hours of battery in the case."),
        ("Studio Monitor Headphones", 14900, 45, "Closed-back, flat response, a coiled cable that lasts."),
        ("Pocket Bluetooth Speaker", 3999, 200, "Waterproof, fits a jacket pocket, 12 hours of music."),
        ("Vinyl Turntable Classic", 24900, 12, "Belt drive, built-in preamp, walnut finish."),
        ("Soundbar 2.1 with Subwoofer", 19900, 20, "Clear dialogue and deep bass for a living room."),
        ("Kids' Volume-Limited Headphones", 2499, 80, "Capped at 85 dB, bendable headband, fun colours."),
        ("USB Condenser Microphone", 8999, 35, "Plug-and-play for podcasts and video calls."),
        ("Limited Edition Gold Earbuds", 19999, 3, "A numbered run of 500 pairs. When they are gone, they are gone."),
    ]),
    "home-kitchen": ("Home & Kitchen", "HOM", [
        ("Pour-Over Coffee Set", 4500, 60, "Glass dripper, kettle and 100 paper filters."),
        ("Cast Iron Skillet 26 cm", 3499, 90, "Pre-seasoned, oven safe, lasts a lifetime."),
        ("Chef's Knife 20 cm", 5900, 40, "German steel, full tang, comes razor sharp."),
        ("Linen Tea Towels (set of 3)", 1899, 150, "Stonewashed linen, softer with every wash."),
        ("Smart LED Desk Lamp", 4999, 55, "Warm to cool light, USB-C charging port in the base."),
        ("Bamboo Cutting Board", 2299, 110, "Large, reversible, with a juice groove."),
        ("Espresso Machine Compact", 29900, 8, "15-bar pump, steam wand, heats up in 40 seconds."),
        ("Ceramic Dinner Plates (set of 4)", 3900, 0, "Speckled glaze, dishwasher safe. Back soon."),
    ]),
    "outdoors": ("Outdoors", "OUT", [
        ("Trail Running Shoes", 11900, 70, "Grippy soles, light mesh, rock plate for rough trails."),
        ("Ultralight Tent 2-Person", 27900, 15, "Under 1.5 kg, sets up in three minutes."),
        ("Insulated Water Bottle 750 ml", 2999, 300, "Cold for 24 hours, hot for 12."),
        ("Headlamp 400 Lumen", 3499, 140, "Rechargeable, red night mode, rain proof."),
        ("Down Sleeping Bag -5 °C", 18900, 18, "Responsibly sourced down, packs to a water bottle's size."),
        ("Folding Camp Chair", 4499, 65, "Holds 120 kg, folds into its own bag."),
        ("Trekking Poles (pair)", 6900, 42, "Carbon, flick-lock, cork grips."),
        ("Waterproof Hiking Jacket", 15900, 25, "Three-layer shell, pit zips, a hood that moves with you."),
    ]),
    "books": ("Books", "BOK", [
        ("The Art of Patience", 1899, 90, "Essays on doing one thing well."),
        ("Midnight in the Orchard", 1499, 120, "A family mystery across three summers."),
        ("Cooking with Five Ingredients", 2499, 60, "120 weeknight recipes, no special shopping."),
        ("A Short History of Maps", 2799, 40, "How people drew the world, and why it matters."),
        ("Learning Python the Calm Way", 3499, 75, "From first script to tested project."),
        ("The Quiet Garden", 2199, 30, "Planting for birds, bees and slow afternoons."),
        ("Stars for Beginners", 1999, 55, "What to see tonight with your own eyes."),
        ("Collected Short Stories", 2599, 2, "Signed first edition, very few copies."),
    ]),
    "fitness": ("Fitness", "FIT", [
        ("Yoga Mat Pro 6 mm", 4900, 85, "Non-slip on both sides, carry strap included."),
        ("Adjustable Dumbbells 2 × 24 kg", 34900, 10, "Fifteen weights in one pair, one twist to change."),
        ("Resistance Bands (set of 5)", 2499, 160, "Light to extra heavy, with door anchor."),
        ("Jump Rope Speed", 1499, 200, "Ball bearings, adjustable steel cable."),
        ("Foam Roller", 2999, 75, "Firm, textured, for sore legs after a long run."),
        ("Fitness Tracker Band", 6999, 50, "Heart rate, sleep and steps, 10-day battery."),
        ("Kettlebell 16 kg", 5999, 28, "Cast iron, wide handle, flat base."),
        ("Pull-Up Bar Doorway", 3499, 4, "No screws, holds 130 kg."),
    ]),
    "games-toys": ("Games & Toys", "GAM", [
        ("Strategy Board Game: Harbour", 4499, 60, "Trade and build in a busy port, 2–5 players."),
        ("1000-Piece Puzzle: Night Market", 1999, 95, "Thick pieces, poster included."),
        ("Wooden Building Blocks (100)", 3499, 70, "Beech wood, water-based paints."),
        ("Retro Handheld Console", 7999, 22, "Two hundred classic games, rechargeable."),
        ("Card Game: Quick Foxes", 1299, 180, "A fast family game, 15 minutes a round."),
        ("Remote Control Car Off-Road", 5999, 33, "4WD, 25 km/h, two batteries."),
        ("Chess Set Walnut", 8999, 14, "Weighted pieces, folding board with storage."),
        ("Collector's Figure: Sky Captain", 3999, 1, "Limited run, the last one in stock."),
    ]),
}


class Command(BaseCommand):
    help = "Load demo categories, products, a staff user and a shopper (safe to run more than once)."

    def handle(self, *args, **options):
        with transaction.atomic():
            categories_created, products_created = seed_catalog()
            users = seed_users()
            campaigns_created = seed_campaigns()
        funded = seed_shopper_wallet()
        pictures = seed_pictures()
        self.stdout.write(
            f"Demo catalog: {Category.objects.count()} categories, {Product.objects.count()} products "
            f"({categories_created} categories and {products_created} products added now)."
        )
        self.stdout.write(f"Product pictures: {pictures} drawn now.")
        self.stdout.write(f"Coupon campaigns: {campaigns_created} added now; shopper's wallet {'funded' if funded else 'already funded'}.")
        for email, password, role, created in users:
            state = "created" if created else "already there; password unchanged if you changed it"
            self.stdout.write(f"  {role:<8} {email} / {password}  ({state})")


def seed_catalog() -> tuple[int, int]:
    categories_created = products_created = 0
    for slug, (name, sku_prefix, products) in CATALOG.items():
        category = Category.objects.filter(slug=slug).first()
        if category is None:
            category = create_category(name=name, slug=slug)
            categories_created += 1
        existing_skus = set(Product.objects.filter(sku__startswith=f"{sku_prefix}-").values_list("sku", flat=True))
        for number, (product_name, price, stock, description) in enumerate(products, start=1):
            sku = f"{sku_prefix}-{number:03d}"
            if sku not in existing_skus:
                create_product(sku=sku, name=product_name, price=price, stock=stock, description=description, category_id=category.pk)
                products_created += 1
    return categories_created, products_created


def seed_pictures() -> int:
    """A drawn picture for every demo product that has none (files first, then one short transaction each)."""
    drawn = 0
    for slug, (_name, sku_prefix, _products) in CATALOG.items():
        bare = Product.objects.filter(sku__startswith=f"{sku_prefix}-", image="", image_url="").order_by("sku")
        for product in bare:
            picture = product_picture_file(name=product.name, sku=product.sku, category_slug=slug)
            set_product_image(product_id=product.pk, upload=picture, base_name=product.name)
            drawn += 1
    return drawn


def seed_users() -> list[tuple[str, str, str, bool]]:
    return [
        (STAFF_EMAIL, STAFF_PASSWORD, "staff", _user(STAFF_EMAIL, STAFF_PASSWORD, name="Sam Staff", is_staff=True, is_superuser=True)),
        (SHOPPER_EMAIL, SHOPPER_PASSWORD, "shopper", _user(SHOPPER_EMAIL, SHOPPER_PASSWORD, name="Shay Shopper")),
    ]


def _user(email: str, password: str, **fields) -> bool:
    users = get_user_model().objects
    if users.filter(email=email).exists():
        return False
    users.create_user(email=email, password=password, **fields)
    return True


def seed_campaigns() -> int:
    created = 0
    for name, discount_type, value, max_discount, min_order_amount, quantity in CAMPAIGNS:
        if not Coupon.objects.filter(name=name).exists():
            create_coupon(
                name=name,
                discount_type=discount_type,
                discount_value=value,
                max_discount=max_discount,
                min_order_amount=min_order_amount,
                total_quantity=quantity,
            )
            created += 1
    return created


def seed_shopper_wallet() -> bool:
    """Money to shop with, once: only when the shopper's ledger is still empty."""
    shopper = get_user_model().objects.get(email=SHOPPER_EMAIL)
    if WalletTransaction.objects.filter(wallet__user=shopper).exists():
        return False
    charge_wallet(user=shopper, amount=SHOPPER_STARTING_BALANCE)
    return True
