"""Product illustrations for the demo catalog, drawn with Pillow: an object per kind of product,
lit from the top left (a diagonal shade and a soft highlight), standing on a soft shadow.

Deterministic: the same name and SKU always give the same picture, so nothing is downloaded and
nothing needs a licence.
"""

import io
import zlib
from collections.abc import Callable

from PIL import Image, ImageChops, ImageDraw, ImageFilter

WIDTH, HEIGHT = 800, 600
SCALE = 2  # drawn at twice the size, then reduced: smooth edges
PALETTE = [(220, 68, 55), (33, 120, 200), (40, 150, 110), (240, 170, 40), (120, 80, 190), (30, 40, 60), (230, 110, 150), (90, 170, 190)]
BACKGROUNDS = {
    "audio": ((236, 241, 250), (214, 224, 242)),
    "home-kitchen": ((250, 244, 236), (238, 226, 210)),
    "outdoors": ((232, 244, 238), (206, 228, 216)),
    "books": ((246, 240, 232), (230, 220, 205)),
    "fitness": ((240, 238, 250), (220, 216, 240)),
    "games-toys": ((252, 240, 240), (240, 218, 222)),
}


def _mix(color, other, share: float) -> tuple[int, int, int]:
    return tuple(round(c + (o - c) * share) for c, o in zip(color, other, strict=True))


def _lighter(color, share=0.45):
    return _mix(color, (255, 255, 255), share)


def _darker(color, share=0.45):
    return _mix(color, (0, 0, 0), share)


class Canvas:
    def __init__(self, background: tuple[tuple[int, int, int], tuple[int, int, int]]):
        top, bottom = (Image.new("RGB", (1, 256), color) for color in background)
        strip = Image.composite(bottom, top, Image.linear_gradient("L").crop((0, 0, 1, 256)))
        self.image = strip.resize((WIDTH * SCALE, HEIGHT * SCALE), Image.Resampling.NEAREST)

    @staticmethod
    def box(x0, y0, x1, y1):
        return [round(v * SCALE) for v in (x0, y0, x1, y1)]

    def mask(self, draw: Callable[[ImageDraw.ImageDraw], None]) -> Image.Image:
        mask = Image.new("L", self.image.size, 0)
        draw(ImageDraw.Draw(mask))
        return mask

    def shadow(self, x0, y0, x1, y1, strength=90):
        """A soft shadow filling the ellipse (x0, y0, x1, y1), blurred at an eighth of the size."""
        margin = 64
        width, height = (x1 - x0 + 2 * margin) // 8, (y1 - y0 + 2 * margin) // 8
        small = Image.new("L", (width, height), 0)
        ImageDraw.Draw(small).ellipse([margin / 8, margin / 8, width - margin / 8, height - margin / 8], fill=strength)
        blurred = small.filter(ImageFilter.GaussianBlur(2)).resize((width * 8 * SCALE, height * 8 * SCALE), Image.Resampling.BILINEAR)
        self.image.paste((40, 40, 60), P(x0 - margin, y0 - margin), blurred)

    def shade(self, mask: Image.Image, color, *, highlight=True, flat=False):
        """Paint the mask: lighter at its top left, darker at its bottom right, with a soft highlight."""
        bbox = mask.getbbox()
        if bbox is None:
            return
        width, height = bbox[2] - bbox[0], bbox[3] - bbox[1]
        vertical = Image.linear_gradient("L").resize((width, height), Image.Resampling.NEAREST)
        horizontal = Image.linear_gradient("L").transpose(Image.Transpose.TRANSPOSE).resize((width, height), Image.Resampling.NEAREST)
        ramp = ImageChops.add(vertical, horizontal, scale=2.0)
        light, dark = (_lighter(color, 0.15), _darker(color, 0.15)) if flat else (_lighter(color, 0.3), _darker(color, 0.4))
        fill = Image.composite(Image.new("RGB", (width, height), dark), Image.new("RGB", (width, height), light), ramp)
        self.image.paste(fill, bbox[:2], mask.crop(bbox))
        if highlight:
            spot = Image.new("L", (max(1, width // 8), max(1, height // 8)), 0)
            ImageDraw.Draw(spot).ellipse([spot.width * 0.12, spot.height * 0.08, spot.width * 0.55, spot.height * 0.42], fill=110)
            spot = spot.filter(ImageFilter.GaussianBlur(max(1, spot.width // 12))).resize((width, height), Image.Resampling.BILINEAR)
            self.image.paste((255, 255, 255), bbox[:2], ImageChops.multiply(spot, mask.crop(bbox)))

    def part(self, color, draw, **options):
        self.shade(self.mask(draw), color, **options)

    def picture(self) -> Image.Image:
        return self.image.reduce(SCALE)


B = Canvas.box


def P(x, y) -> tuple[int, int]:
    return round(x * SCALE), round(y * SCALE)


def headphones(canvas: Canvas, color, accent):
    canvas.shadow(230, 470, 570, 520)
    canvas.part(_darker(color, 0.2), lambda d: d.arc(B(240, 110, 560, 430), 180, 360, fill=255, width=34 * SCALE))
    canvas.part(_darker(color, 0.2), lambda d: d.rectangle(B(240, 265, 274, 330), fill=255), highlight=False)
    canvas.part(_darker(color, 0.2), lambda d: d.rectangle(B(526, 265, 560, 330), fill=255), highlight=False)
    for x in (205, 505):
        canvas.part(color, lambda d, x=x: d.rounded_rectangle(B(x, 290, x + 90, 470), radius=40 * SCALE, fill=255))
        canvas.part(accent, lambda d, x=x: d.rounded_rectangle(B(x + 22, 320, x + 68, 440), radius=22 * SCALE, fill=255), flat=True)


def speaker(canvas: Canvas, color, accent):
    canvas.shadow(200, 450, 600, 510)
    canvas.part(color, lambda d: d.rounded_rectangle(B(230, 130, 570, 480), radius=36 * SCALE, fill=255))
    canvas.part(_darker(color, 0.5), lambda d: d.ellipse(B(320, 250, 480, 410), fill=255))
    canvas.part(accent, lambda d: d.ellipse(B(365, 295, 435, 365), fill=255))
    canvas.part(_darker(color, 0.5), lambda d: d.ellipse(B(370, 160, 430, 220), fill=255))


def turntable(canvas: Canvas, color, accent):
    canvas.shadow(160, 430, 640, 500)
    canvas.part(color, lambda d: d.rounded_rectangle(B(170, 180, 630, 460), radius=24 * SCALE, fill=255))
    canvas.part((30, 30, 36), lambda d: d.ellipse(B(210, 200, 450, 440), fill=255))
    canvas.part(accent, lambda d: d.ellipse(B(300, 290, 360, 350), fill=255), highlight=False)
    canvas.part((200, 200, 210), lambda d: d.line([*P(560, 210), *P(470, 380)], fill=255, width=10 * SCALE))


def microphone(canvas: Canvas, color, accent):
    canvas.shadow(280, 470, 520, 515)
    canvas.part((70, 72, 80), lambda d: d.rectangle(B(388, 300, 412, 470), fill=255), highlight=False)
    canvas.part((70, 72, 80), lambda d: d.ellipse(B(300, 450, 500, 495), fill=255))
    canvas.part(color, lambda d: d.rounded_rectangle(B(330, 90, 470, 330), radius=70 * SCALE, fill=255))
    canvas.part(accent, lambda d: d.rectangle(B(330, 220, 470, 236), fill=255), highlight=False)


def mug(canvas: Canvas, color, accent):
    canvas.shadow(220, 450, 560, 505)
    canvas.part(color, lambda d: d.ellipse(B(440, 220, 570, 380), outline=255, width=26 * SCALE))
    canvas.part(color, lambda d: d.rounded_rectangle(B(240, 170, 470, 480), radius=30 * SCALE, fill=255))
    canvas.part(_darker(color, 0.55), lambda d: d.ellipse(B(240, 150, 470, 200), fill=255), highlight=False)
    canvas.part((110, 70, 45), lambda d: d.ellipse(B(258, 158, 452, 194), fill=255), highlight=False)
    for x in (300, 355, 410):
        canvas.part((255, 255, 255), lambda d, x=x: d.arc(B(x - 20, 60, x + 20, 140), 100, 260, fill=255, width=7 * SCALE), highlight=False, flat=True)


def pan(canvas: Canvas, color, accent):
    canvas.shadow(150, 400, 620, 500)
    canvas.part((45, 45, 50), lambda d: d.rounded_rectangle(B(520, 285, 760, 325), radius=20 * SCALE, fill=255))
    canvas.part((40, 40, 44), lambda d: d.ellipse(B(120, 190, 560, 470), fill=255))
    canvas.part((70, 70, 78), lambda d: d.ellipse(B(150, 210, 530, 440), fill=255), highlight=False)


def knife(canvas: Canvas, color, accent):
    canvas.shadow(120, 380, 700, 430)
    canvas.part((205, 210, 218), lambda d: d.polygon([P(120, 330), P(470, 250), P(470, 345)], fill=255))
    canvas.part(_darker(color, 0.3), lambda d: d.rounded_rectangle(B(460, 255, 690, 345), radius=30 * SCALE, fill=255))
    for x in (520, 580, 640):
        canvas.part((210, 210, 215), lambda d, x=x: d.ellipse(B(x - 8, 292, x + 8, 308), fill=255), highlight=False)


def plates(canvas: Canvas, color, accent):
    canvas.shadow(170, 420, 630, 500)
    for offset in (60, 40, 20, 0):
        canvas.part(_lighter(color, 0.55), lambda d, o=offset: d.ellipse(B(180, 240 + o, 620, 420 + o), fill=255))
    canvas.part(_lighter(color, 0.75), lambda d: d.ellipse(B(260, 275, 540, 385), fill=255), highlight=False)


def lamp(canvas: Canvas, color, accent):
    canvas.shadow(250, 470, 550, 515)
    canvas.part((60, 60, 70), lambda d: d.ellipse(B(290, 460, 510, 500), fill=255))
    canvas.part((60, 60, 70), lambda d: d.line([*P(400, 480), *P(330, 260), *P(480, 150)], fill=255, width=16 * SCALE, joint="curve"))
    canvas.part(color, lambda d: d.pieslice(B(400, 90, 600, 290), 200, 340, fill=255))
    canvas.part((255, 236, 160), lambda d: d.ellipse(B(430, 215, 570, 245), fill=255), highlight=False, flat=True)


def board(canvas: Canvas, color, accent):
    canvas.shadow(160, 400, 640, 480)
    canvas.part((196, 150, 96), lambda d: d.rounded_rectangle(B(170, 170, 630, 440), radius=40 * SCALE, fill=255))
    canvas.part((170, 125, 75), lambda d: d.rounded_rectangle(B(200, 200, 600, 410), radius=30 * SCALE, outline=255, width=6 * SCALE), highlight=False)
    canvas.part(color, lambda d: d.rectangle(B(170, 280, 630, 320), fill=255), flat=True, highlight=False)


def tent(canvas: Canvas, color, accent):
    canvas.part((160, 190, 175), lambda d: d.polygon([P(0, 470), P(230, 170), P(450, 470)], fill=255), flat=True)
    canvas.part((180, 205, 190), lambda d: d.polygon([P(330, 470), P(600, 120), P(800, 470)], fill=255), flat=True)
    canvas.part((250, 252, 255), lambda d: d.polygon([P(545, 190), P(600, 120), P(655, 190)], fill=255), highlight=False)
    canvas.shadow(170, 450, 650, 530)
    canvas.part(color, lambda d: d.polygon([P(180, 490), P(400, 210), P(620, 490)], fill=255))
    canvas.part(_darker(color, 0.55), lambda d: d.polygon([P(340, 490), P(400, 330), P(460, 490)], fill=255), highlight=False)


def bottle(canvas: Canvas, color, accent):
    canvas.shadow(290, 480, 510, 525)
    canvas.part((60, 62, 70), lambda d: d.rounded_rectangle(B(350, 70, 450, 140), radius=14 * SCALE, fill=255))
    canvas.part(color, lambda d: d.rounded_rectangle(B(310, 130, 490, 505), radius=60 * SCALE, fill=255))
    canvas.part(accent, lambda d: d.rectangle(B(310, 300, 490, 340), fill=255), flat=True, highlight=False)


def shoe(canvas: Canvas, color, accent):
    canvas.shadow(130, 430, 680, 500)
    canvas.part((240, 240, 242), lambda d: d.rounded_rectangle(B(130, 400, 690, 460), radius=28 * SCALE, fill=255))
    canvas.part(color, lambda d: d.polygon([P(*p) for p in ((150, 410), (190, 250), (330, 230), (420, 310), (640, 340), (680, 410))], fill=255))
    for x in (300, 340, 380):
        y = 265 + (x - 300) // 2
        canvas.part((255, 255, 255), lambda d, x=x, y=y: d.line([*P(x, y), *P(x + 30, y + 35)], fill=255, width=8 * SCALE), highlight=False)


def book(canvas: Canvas, color, accent):
    canvas.shadow(240, 470, 600, 520)
    canvas.part((245, 240, 228), lambda d: d.rectangle(B(290, 100, 560, 490), fill=255), highlight=False, flat=True)
    canvas.part(color, lambda d: d.rounded_rectangle(B(250, 90, 530, 480), radius=8 * SCALE, fill=255))
    canvas.part(_darker(color, 0.35), lambda d: d.rectangle(B(250, 90, 285, 480), fill=255), highlight=False)
    canvas.part(accent, lambda d: d.rectangle(B(320, 160, 490, 180), fill=255), flat=True, highlight=False)
    canvas.part(accent, lambda d: d.rectangle(B(320, 200, 460, 212), fill=255), flat=True, highlight=False)
    canvas.part(accent, lambda d: d.ellipse(B(360, 290, 450, 380), fill=255), flat=True, highlight=False)


def dumbbell(canvas: Canvas, color, accent):
    canvas.shadow(140, 410, 660, 480)
    canvas.part((150, 155, 165), lambda d: d.rounded_rectangle(B(200, 285, 600, 325), radius=12 * SCALE, fill=255))
    for x in (150, 210, 530, 590):
        canvas.part(color, lambda d, x=x: d.rounded_rectangle(B(x, 190, x + 60, 420), radius=18 * SCALE, fill=255))


def kettlebell(canvas: Canvas, color, accent):
    canvas.shadow(240, 460, 560, 515)
    canvas.part(color, lambda d: d.arc(B(300, 80, 500, 300), 180, 360, fill=255, width=36 * SCALE))
    canvas.part(color, lambda d: d.rectangle(B(300, 185, 336, 260), fill=255), highlight=False)
    canvas.part(color, lambda d: d.rectangle(B(464, 185, 500, 260), fill=255), highlight=False)
    canvas.part(color, lambda d: d.ellipse(B(240, 200, 560, 500), fill=255))


def mat(canvas: Canvas, color, accent):
    canvas.shadow(150, 400, 650, 470)
    canvas.part(color, lambda d: d.rounded_rectangle(B(160, 220, 640, 420), radius=100 * SCALE, fill=255))
    canvas.part(_darker(color, 0.2), lambda d: d.ellipse(B(540, 220, 640, 420), fill=255), highlight=False)
    canvas.part(_lighter(color, 0.3), lambda d: d.ellipse(B(570, 280, 610, 360), outline=255, width=6 * SCALE), highlight=False)


def dice(canvas: Canvas, color, accent):
    canvas.shadow(180, 430, 640, 500)
    for x0, y0, size in ((190, 230, 220), (430, 260, 190)):
        canvas.part(color, lambda d, x0=x0, y0=y0, s=size: d.rounded_rectangle(B(x0, y0, x0 + s, y0 + s), radius=34 * SCALE, fill=255))
        for px, py in ((0.3, 0.3), (0.7, 0.7), (0.5, 0.5), (0.7, 0.3), (0.3, 0.7)):
            cx, cy, r = x0 + px * size, y0 + py * size, size * 0.07
            canvas.part((255, 255, 255), lambda d, cx=cx, cy=cy, r=r: d.ellipse(B(cx - r, cy - r, cx + r, cy + r), fill=255), highlight=False)


def console(canvas: Canvas, color, accent):
    canvas.shadow(200, 460, 600, 515)
    canvas.part(color, lambda d: d.rounded_rectangle(B(250, 80, 550, 490), radius=36 * SCALE, fill=255))
    canvas.part((40, 50, 60), lambda d: d.rounded_rectangle(B(285, 115, 515, 285), radius=10 * SCALE, fill=255), highlight=False)
    canvas.part((110, 200, 160), lambda d: d.rectangle(B(305, 135, 495, 265), fill=255), flat=True)
    canvas.part((50, 50, 60), lambda d: d.rectangle(B(290, 360, 370, 384), fill=255), highlight=False)
    canvas.part((50, 50, 60), lambda d: d.rectangle(B(318, 332, 342, 412), fill=255), highlight=False)
    for cx, cy in ((470, 350), (440, 390)):
        canvas.part(accent, lambda d, cx=cx, cy=cy: d.ellipse(B(cx - 20, cy - 20, cx + 20, cy + 20), fill=255))


def blocks(canvas: Canvas, color, accent):
    canvas.shadow(160, 440, 640, 510)
    for (x0, y0), shade in zip(((180, 330), (340, 330), (500, 330), (260, 190), (420, 190), (340, 50)), PALETTE, strict=False):
        canvas.part(shade, lambda d, x0=x0, y0=y0: d.rounded_rectangle(B(x0, y0, x0 + 140, y0 + 140), radius=14 * SCALE, fill=255))


def pawn(canvas: Canvas, color, accent):
    canvas.shadow(260, 460, 540, 515)
    canvas.part(color, lambda d: d.rounded_rectangle(B(280, 420, 520, 490), radius=20 * SCALE, fill=255))
    canvas.part(color, lambda d: d.polygon([P(*p) for p in ((330, 430), (370, 240), (430, 240), (470, 430))], fill=255))
    canvas.part(color, lambda d: d.ellipse(B(320, 215, 480, 255), fill=255))
    canvas.part(color, lambda d: d.ellipse(B(340, 90, 460, 220), fill=255))


# Keywords in a product's name pick the drawing; otherwise its category's first one.
DRAWINGS: dict[str, list[tuple[tuple[str, ...], Callable]]] = {
    "audio": [(("headphones", "earbuds"), headphones), (("speaker", "soundbar"), speaker), (("turntable",), turntable), (("microphone",), microphone)],
    "home-kitchen": [
        (("coffee", "espresso"), mug), (("skillet",), pan), (("knife",), knife), (("plates",), plates), (("lamp",), lamp), (("board", "towel"), board),
    ],
    "outdoors": [(("tent", "chair", "sleeping"), tent), (("bottle", "headlamp"), bottle), (("shoes", "poles", "jacket"), shoe)],
    "books": [((), book)],
    "fitness": [(("dumbbell", "bar", "rope", "bands"), dumbbell), (("kettlebell",), kettlebell), (("mat", "roller", "tracker"), mat)],
    "games-toys": [(("game", "card", "puzzle"), dice), (("console", "car"), console), (("blocks",), blocks), (("chess", "figure"), pawn)],
}


def draw_product(*, name: str, sku: str, category_slug: str) -> Image.Image:
    """The product's illustration (WIDTH x HEIGHT, RGB)."""
    seed = zlib.crc32(sku.encode())
    color, accent = PALETTE[seed % len(PALETTE)], PALETTE[(seed // 7 + 3) % len(PALETTE)]
    if accent == color:
        accent = _lighter(color, 0.7)
    options = DRAWINGS.get(category_slug, DRAWINGS["books"])
    lowered = name.lower()
    drawing = next((draw for words, draw in options if any(word in lowered for word in words)), options[0][1])
    canvas = Canvas(BACKGROUNDS.get(category_slug, BACKGROUNDS["books"]))
    drawing(canvas, color, accent)
    return canvas.picture()


def product_picture_file(*, name: str, sku: str, category_slug: str) -> io.BytesIO:
    """The illustration as a JPEG file object, ready for apps.catalog.images.set_product_image."""
    buffer = io.BytesIO()
    draw_product(name=name, sku=sku, category_slug=category_slug).save(buffer, "JPEG", quality=90)
    buffer.seek(0)
    return buffer
